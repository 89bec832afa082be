import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import { consoleWorld, eventually, type ConsoleWorld } from '../support/browser.js';

/** Managing API keys in the console, in a real browser; each secret is checked against the API itself. */
describe('console: API keys', { timeout: 180_000 }, () => {
  const world = consoleWorld();
  after(() => world.close());

  /** Reads the secret from the once-shown dialog, checks the dialog's warning, closes it. */
  async function takeSecret(page: Page): Promise<string> {
    const dialog = page.locator('dialog.secret-dialog');
    await dialog.waitFor();
    assert.match(await dialog.innerText(), /you will not see it again/);
    const secret = (await dialog.locator('code.secret').innerText()).trim();
    await dialog.locator('button.close').click();
    await dialog.waitFor({ state: 'detached' });
    return secret;
  }

  async function assertSecretGone(page: Page, secret: string) {
    assert.ok(!(await page.content()).includes(secret), 'the secret is not in the page after the dialog closed');
    assert.ok(!page.url().includes(secret), 'nor in the URL');
    const stored = await page.evaluate<string>('JSON.stringify([{ ...localStorage }, { ...sessionStorage }])');
    assert.ok(!stored.includes(secret), 'nor in storage');
  }

  const statusOf = async (page: Page) => (await page.locator('#key-status').innerText()).trim();

  async function createKey(w: ConsoleWorld, page: Page, name: string): Promise<{ id: string; secret: string }> {
    await page.goto(`${w.latchkey.origin}/#/keys`);
    await page.click('#new-key');
    await page.fill('#key-create input[name=name]', name);
    await page.selectOption('#key-create select[name=scope]', 'team');
    await page.selectOption('#key-create select[name=team_id]', { label: 'platform' });
    await page.uncheck('#key-create input[value=viewer]');
    await page.check('#key-create input[value=incident_editor]');
    await page.click('#key-create button[type=submit]');
    const secret = await takeSecret(page);
    await page.waitForSelector('#key-edit');
    const id = decodeURIComponent(new URL(page.url()).hash.split('/')[2]!);
    return { id, secret };
  }

  test('create: the secret is shown once, really works, and is gone from the page when the dialog closes', async () => {
    const w = await world.get();
    const page = await w.signedIn();
    const { id, secret } = await createKey(w, page, 'deploy bot');
    assert.match(secret, /^lkt_[0-9A-Za-z]{36}$/);
    const identity = await w.callWith(secret, '/identity');
    assert.equal(identity.status, 200);
    assert.equal(identity.body.api_key.id, id);
    assert.deepEqual(identity.body.api_key.roles, ['incident_editor']);
    await assertSecretGone(page, secret);

    assert.equal(await statusOf(page), 'active');
    const details = await page.locator('dl.facts').first().innerText();
    for (const expected of ['deploy bot', 'team', 'platform', 'incident_editor', identity.body.api_key.token_hint]) assert.ok(details.includes(expected), `${expected} in\n${details}`);

    await page.goto(`${w.latchkey.origin}/#/keys`);
    // The unfiltered list shows both keys: the filter has been applied once the global key is gone.
    await page.locator('#key-list a', { hasText: 'Owner key' }).waitFor();
    await page.selectOption('select[name=scope]', 'team');
    await page.locator('#key-list a', { hasText: 'Owner key' }).waitFor({ state: 'detached' });
    const row = await page.locator('#key-list tr', { hasText: 'deploy bot' }).innerText();
    for (const expected of ['rest', 'team', 'platform', 'incident_editor', 'active']) assert.ok(row.includes(expected), `${expected} in ${row}`);
    w.expectNoScriptErrors();
  });

  test('rotate with a grace shows previous_token; both tokens work during the grace', async () => {
    const w = await world.get();
    const page = await w.signedIn();
    const { secret: old } = await createKey(w, page, 'rotating bot');
    await page.fill('input[name=grace_period_seconds]', '600');
    await page.click('#rotate');
    const fresh = await takeSecret(page);
    assert.notEqual(fresh, old);
    await page.locator('#previous-token').waitFor();
    assert.match(await page.locator('#previous-token').innerText(), new RegExp(`${old.slice(0, 4)}…${old.slice(-4)}`));
    assert.equal((await w.callWith(old, '/identity')).status, 200, 'the old token works during the grace');
    assert.equal((await w.callWith(fresh, '/identity')).status, 200);
    await assertSecretGone(page, fresh);
    w.expectNoScriptErrors();
  });

  test('disable then enable changes the status; revoke (confirmed) makes the token answer 401 token_revoked', async () => {
    const w = await world.get();
    const page = await w.signedIn();
    const { secret } = await createKey(w, page, 'short-lived bot');
    await page.click('#disable');
    await page.locator('#enable').waitFor();
    assert.equal(await statusOf(page), 'disabled');
    assert.equal((await w.callWith(secret, '/identity')).body.error.code, 'token_disabled');
    await page.click('#enable');
    await page.locator('#disable').waitFor();
    assert.equal(await statusOf(page), 'active');
    assert.equal((await w.callWith(secret, '/identity')).status, 200);

    await page.click('#revoke');
    await page.locator('dialog.confirm button', { hasText: 'Cancel' }).click();
    assert.equal(await statusOf(page), 'active', 'cancelling the confirmation changes nothing');
    await page.click('#revoke');
    await page.locator('dialog.confirm button.danger').click();
    await page.locator('#key-status', { hasText: 'revoked' }).waitFor();
    const refused = await w.callWith(secret, '/identity');
    assert.equal(refused.status, 401);
    assert.equal(refused.body.error.code, 'token_revoked');
    w.expectNoScriptErrors();
  });

  test('settings: debug on, allowed addresses; the key’s requests show in its debug logs and usage', async () => {
    const w = await world.get();
    const page = await w.signedIn();
    const { secret } = await createKey(w, page, 'debugged bot');
    await page.check('#key-edit input[name=debug]');
    await page.fill('#key-edit textarea[name=allowed_cidrs]', '127.0.0.0/8\n10.0.0.0/8');
    await page.click('#key-edit button[type=submit]');
    await page.locator('#key-debug', { hasText: 'on until' }).waitFor();
    assert.match(await page.locator('dl.facts').first().innerText(), /127\.0\.0\.0\/8, 10\.0\.0\.0\/8/);

    await page.fill('#key-edit textarea[name=allowed_cidrs]', 'not a cidr');
    await page.click('#key-edit button[type=submit]');
    const error = page.locator('#key-edit .error');
    await error.waitFor();
    assert.match(await error.innerText(), /validation_failed/);

    assert.equal((await w.callWith(secret, '/incidents?limit=1')).status, 200);
    await page.reload();
    await page.locator('#key-logs td', { hasText: 'GET /api/v1/incidents' }).first().waitFor();
    await w.latchkey.services.recorder.flush();
    await page.reload();
    const usage = page.locator('#key-usage table');
    await usage.waitFor();
    assert.match(await usage.innerText(), /Day\s+Total\s+ok/);
    w.expectNoScriptErrors();
  });

  test('the audit trail lists what was just done to the keys', async () => {
    const w = await world.get();
    const page = await w.signedIn();
    await page.goto(`${w.latchkey.origin}/#/audit`);
    await page.locator('#audit-list table').waitFor();
    const actions = await page.locator('#audit-list td code.action').allInnerTexts();
    for (const action of ['api_key.created', 'api_key.rotated', 'api_key.disabled', 'api_key.enabled', 'api_key.revoked', 'api_key.updated']) {
      assert.ok(actions.includes(action), `${action} in ${actions.join(' ')}`);
    }
    const revoked = await page.locator('#audit-list tr', { hasText: 'api_key.revoked' }).first().innerText();
    assert.match(revoked, /owner@example\.com \(user\)/, 'done by the signed-in user');
    await page.fill('input[name=action]', 'api_key.rotated');
    await page.click('form.filters button[type=submit]');
    await eventually('only rotations are listed', async () => (await page.locator('#audit-list td code.action').allInnerTexts()).every((a) => a === 'api_key.rotated'));
    w.expectNoScriptErrors();
  });
});
