import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import { consoleWorld, eventually } from '../support/browser.js';

/** Services and their filters, incidents, users and personal tokens in the console, in a real browser. */
describe('console: services, incidents, users, personal tokens', { timeout: 180_000 }, () => {
  const world = consoleWorld();
  after(() => world.close());

  const errorText = async (page: Page, where: string) => {
    const error = page.locator(`${where} .error`);
    await error.waitFor();
    return error.innerText();
  };

  test('a service’s API filter: bad JSON and an invalid filter show why; a saved filter is tested with matched true and false', async () => {
    const w = await world.get();
    const page = await w.signedIn();
    await page.goto(`${w.latchkey.origin}/#/catalog`);
    await page.click('a:text("monitoring")');
    await page.waitForSelector('#filter-edit');

    await page.fill('#filter-edit textarea', '{"path": "severity",');
    await page.click('#filter-edit button[type=submit]');
    assert.match(await errorText(page, '#filter-edit'), /invalid_json: The filter is not valid JSON/);

    await page.fill('#filter-edit textarea', '{"all": [{"path": "severity", "op": "sounds_like", "value": "bad"}]}');
    await page.click('#filter-edit button[type=submit]');
    const invalid = await errorText(page, '#filter-edit');
    assert.match(invalid, /^invalid_filter: api_filter\/all\/0/);
    assert.match(invalid, /sounds_like|op/, invalid);
    assert.equal((await w.latchkey.get(`/services/${w.latchkey.serviceId}`)).service.api_filter, null, 'nothing saved');

    const filter = { all: [{ path: 'severity', op: 'equals', value: 'critical' }] };
    await page.fill('#filter-edit textarea', JSON.stringify(filter));
    await page.click('#filter-edit button[type=submit]');
    await page.locator('#filter-result .notice').waitFor();
    assert.deepEqual((await w.latchkey.get(`/services/${w.latchkey.serviceId}`)).service.api_filter, filter);

    for (const [severity, matched] of [['critical', 'true'], ['info', 'false']] as const) {
      await page.fill('#filter-test textarea', JSON.stringify({ summary: 'disk full', severity }));
      await page.click('#filter-test button[type=submit]');
      await page.locator('#matched', { hasText: `matched: ${matched}` }).waitFor();
      const explanation = await page.locator('#test-result table').innerText();
      assert.match(explanation, /severity/);
      assert.ok(explanation.includes(JSON.stringify(severity)) || explanation.includes(severity), explanation);
    }
    w.expectNoScriptErrors();
  });

  test('incidents: listed by status, acknowledged and resolved from the console', async () => {
    const w = await world.get();
    const created = await w.callWith(w.latchkey.ownerToken, '/incidents', {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ summary: 'disk full on db-1', severity: 'critical' }),
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const page = await w.signedIn();
    await page.goto(`${w.latchkey.origin}/#/incidents`);
    const row = page.locator('#incident-list tr', { hasText: 'disk full on db-1' });
    await row.waitFor();
    assert.match(await row.innerText(), /triggered/);
    await row.locator('button', { hasText: 'Acknowledge' }).click();
    await page.locator('#incident-list tr', { hasText: 'disk full on db-1' }).filter({ hasText: 'acknowledged' }).waitFor();
    await page.locator('#incident-list tr', { hasText: 'disk full on db-1' }).locator('button', { hasText: 'Resolve' }).click();
    await page.locator('#incident-list tr', { hasText: 'disk full on db-1' }).filter({ hasText: 'resolved' }).waitFor();
    await page.selectOption('select[name=status]', 'triggered');
    await eventually('the resolved incident leaves the triggered list', async () => !(await page.locator('#incident-list').innerText()).includes('disk full on db-1'));
    assert.equal((await w.latchkey.get(`/incidents/${created.body.incidents[0].id}`)).incident.status, 'resolved');
    w.expectNoScriptErrors();
  });

  test('users: an owner creates a member, who sees only what they may and makes a personal token; then is deactivated', async () => {
    const w = await world.get();
    const page = await w.signedIn();
    await page.goto(`${w.latchkey.origin}/#/users`);
    const member = { email: 'responder@example.com', password: 'a long enough password' };
    await page.fill('#user-create input[name=email]', member.email);
    await page.fill('#user-create input[name=name]', 'Responder');
    await page.fill('#user-create input[name=password]', member.password);
    await page.selectOption('#user-create select[name=role]', 'member');
    await page.click('#user-create button[type=submit]');
    await page.locator('#user-list tr', { hasText: member.email }).waitFor();

    await page.fill('#user-create input[name=email]', member.email);
    await page.fill('#user-create input[name=password]', member.password);
    await page.click('#user-create button[type=submit]');
    assert.match(await errorText(page, '#user-create'), /^conflict: /, 'a second user with the same email is refused with the API’s message');

    const theirs = await w.signedIn(member);
    assert.equal(new URL(theirs.url()).hash, '#/tokens', 'without api_keys:read a member lands on their own tokens');
    assert.equal(await theirs.locator('#current-role').innerText(), 'member');
    const sections = await theirs.locator('#nav a').allInnerTexts();
    assert.ok(!sections.includes('API keys') && !sections.includes('Audit trail'), sections.join(', '));
    await theirs.click('#new-token');
    await theirs.fill('#token-create input[name=name]', 'laptop');
    await theirs.click('#token-create button[type=submit]');
    const dialog = theirs.locator('dialog.secret-dialog');
    await dialog.waitFor();
    const secret = (await dialog.locator('code.secret').innerText()).trim();
    await dialog.locator('button.close').click();
    assert.match(secret, /^lku_/);
    const identity = await w.callWith(secret, '/identity');
    assert.equal(identity.status, 200);
    assert.equal(identity.body.user.email, member.email);
    await theirs.locator('#token-list tr', { hasText: 'laptop' }).waitFor();
    assert.ok(!(await theirs.content()).includes(secret));

    await page.reload();
    await page.locator('#user-list tr', { hasText: member.email }).locator('button', { hasText: 'Deactivate' }).click();
    await page.locator('dialog.confirm button.danger').click();
    await page.locator('#user-list tr', { hasText: member.email }).filter({ hasText: 'deactivated' }).waitFor();
    const refused = await w.callWith(secret, '/identity');
    assert.equal(refused.status, 401, 'the deactivated user’s token stops working');

    await theirs.goto(`${w.latchkey.origin}/#/tokens`);
    await theirs.reload();
    await theirs.waitForSelector('#signin');
    w.expectNoScriptErrors();
  });
});
