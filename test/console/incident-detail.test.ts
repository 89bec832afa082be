import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { callAsSession, consoleWorld, createUser, ownerCall, type ConsoleWorld } from '../support/browser.js';

/** One incident's page in the console: every field, the last payload as text, lifecycle and edits. */
describe('console: incident detail', { timeout: 180_000 }, () => {
  const world = consoleWorld();
  after(() => world.close());

  /** A service that takes payloads with app=<name>, and an incident on it with two alerts. */
  async function incidentWithTwoAlerts(w: ConsoleWorld, app: string) {
    const teamId = (await w.latchkey.get(`/services/${w.latchkey.serviceId}`)).service.team_id;
    const service = await ownerCall(w, 'POST', '/services', { team_id: teamId, name: `svc-${app}`, api_filter: { path: 'app', op: 'equals', value: app } });
    assert.equal(service.status, 201, JSON.stringify(service.body));
    const payload = (n: number) => ({ app, summary: `${app} is down`, severity: 'error', dedup_key: `${app}-1`, note: '<img src=x onerror=alert(1)>', n });
    const first = await ownerCall(w, 'POST', '/incidents', payload(1));
    assert.equal(first.status, 201, JSON.stringify(first.body));
    await ownerCall(w, 'POST', '/incidents', payload(2));
    return { id: first.body.incidents[0].id as string, last: payload(2) };
  }

  test('from the list to an incident: every field, the payload as text; acknowledge, edit title and severity, resolve', async () => {
    const w = await world.get();
    const { id, last } = await incidentWithTwoAlerts(w, 'checkout');
    const page = await w.signedIn();
    await page.goto(`${w.latchkey.origin}/#/incidents`);
    await page.locator('#incident-list a', { hasText: 'checkout is down' }).click();
    await page.waitForSelector('#incident-title');
    assert.equal(new URL(page.url()).hash, `#/incidents/${id}`);
    const details = await page.locator('dl.facts').innerText();
    for (const expected of [id, 'checkout-1', 'error', 'triggered', 'svc-checkout', 'platform', 'api', 'Owner key']) assert.ok(details.includes(expected), `${expected} in\n${details}`);
    assert.match(details, /Alerts\s+2/);
    assert.deepEqual(JSON.parse(await page.locator('#last-payload').innerText()), last, 'the last payload, pretty-printed');
    assert.equal(await page.locator('#last-payload img').count(), 0, 'payload text is never parsed as HTML');

    await page.click('#acknowledge');
    await page.locator('#incident-status', { hasText: 'acknowledged' }).waitFor();
    assert.match(await page.locator('dl.facts').innerText(), /Acknowledged\s+\S+ \S+ by owner@example\.com \(user\)/);
    assert.equal(await page.locator('#acknowledge').count(), 0);

    const before = (await w.latchkey.get(`/incidents/${id}`)).incident.updated_at;
    await page.click('#incident-edit button[type=submit]');
    await page.locator('#incident-edit .notice', { hasText: 'Nothing changed.' }).waitFor();
    assert.equal((await w.latchkey.get(`/incidents/${id}`)).incident.updated_at, before, 'an unchanged form sends nothing');

    await page.fill('#incident-edit input[name=title]', 'checkout down in eu-west');
    await page.selectOption('#incident-edit select[name=severity]', 'critical');
    await page.click('#incident-edit button[type=submit]');
    await page.locator('#incident-title', { hasText: 'checkout down in eu-west' }).waitFor();
    const edited = (await w.latchkey.get(`/incidents/${id}`)).incident;
    assert.equal(edited.title, 'checkout down in eu-west');
    assert.equal(edited.severity, 'critical');
    assert.equal(edited.status, 'acknowledged');

    await page.click('#resolve');
    await page.locator('#incident-status', { hasText: 'resolved' }).waitFor();
    assert.equal(await page.locator('#resolve').count(), 0, 'nothing left to do on a resolved incident');
    const resolved = (await w.latchkey.get(`/incidents/${id}`)).incident;
    assert.equal(resolved.status, 'resolved');
    assert.equal(resolved.resolved_by.type, 'user');
    w.expectNoScriptErrors();
  });

  test('a viewer reads the incident without lifecycle or edit controls; a forced PATCH is refused', async () => {
    const w = await world.get();
    const { id } = await incidentWithTwoAlerts(w, 'search');
    const viewer = await createUser(w, 'incident-viewer@example.com', 'viewer');
    const page = await w.signedIn(viewer);
    await page.goto(`${w.latchkey.origin}/#/incidents/${id}`);
    await page.waitForSelector('#last-payload');
    for (const hidden of ['#acknowledge', '#resolve', '#incident-edit']) assert.equal(await page.locator(hidden).count(), 0, hidden);
    const forced = await callAsSession(page, 'PATCH', `/incidents/${id}`, { title: 'nothing to see' });
    assert.equal(forced.status, 403);
    assert.equal(forced.body.error.code, 'insufficient_permissions');
    assert.equal((await w.latchkey.get(`/incidents/${id}`)).incident.title, 'search is down');
    w.expectNoScriptErrors();
  });
});
