import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { callAsSession, consoleWorld, createUser, eventually, ownerCall, type ConsoleWorld } from '../support/browser.js';

/** One incident's page in the console: every field, the last payload as text, lifecycle, edits and delete. */
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

  test('delete asks first: Cancel keeps the incident, Delete removes it and returns to the list, where it is gone', async () => {
    const w = await world.get();
    const { id } = await incidentWithTwoAlerts(w, 'billing');
    const page = await w.signedIn();
    await page.goto(`${w.latchkey.origin}/#/incidents/${id}`);
    await page.waitForSelector('#incident-title');

    await page.click('#incident-delete');
    const dialog = page.locator('dialog.confirm');
    assert.match(await dialog.innerText(), /Delete the incident "billing is down"\?/);
    await dialog.locator('button', { hasText: 'Cancel' }).click();
    await dialog.waitFor({ state: 'detached' });
    assert.equal((await ownerCall(w, 'GET', `/incidents/${id}`)).status, 200, 'Cancel keeps it');
    assert.equal(new URL(page.url()).hash, `#/incidents/${id}`, 'and stays on the incident');

    await page.click('#incident-delete');
    await page.locator('dialog.confirm button.danger', { hasText: 'Delete' }).click();
    await eventually('the console is back on the incident list', async () => new URL(page.url()).hash === '#/incidents');
    await page.locator('#incident-list table, #incident-list .empty').first().waitFor();
    assert.equal(await page.locator(`#incident-list a[href="#/incidents/${id}"]`).count(), 0, 'the deleted incident is not listed');
    assert.equal(await page.locator('#incident-list a', { hasText: 'billing is down' }).count(), 0);
    assert.equal((await ownerCall(w, 'GET', `/incidents/${id}`)).status, 404, 'gone from the API too');
    const listed = (await ownerCall(w, 'GET', '/incidents?limit=100')).body.incidents.map((i: any) => i.id);
    assert.ok(!listed.includes(id));
    w.expectNoScriptErrors();
  });

  test('a refused delete is shown on the incident screen, which stays', async () => {
    const w = await world.get();
    const { id } = await incidentWithTwoAlerts(w, 'ledger');
    const page = await w.signedIn();
    await page.goto(`${w.latchkey.origin}/#/incidents/${id}`);
    await page.waitForSelector('#incident-delete');
    // Deleted elsewhere while the page was open: the console's own DELETE then answers 404.
    assert.equal((await ownerCall(w, 'DELETE', `/incidents/${id}`)).status, 204);
    await page.click('#incident-delete');
    await page.locator('dialog.confirm button.danger').click();
    const error = page.locator('#incident-errors .error');
    await error.waitFor();
    assert.equal(await error.innerText(), 'not_found: incident not found');
    assert.equal(new URL(page.url()).hash, `#/incidents/${id}`, 'no move to the list after a failure');
    assert.ok(await page.locator('#incident-delete').isEnabled(), 'the button is usable again');
    w.expectNoScriptErrors();
  });

  test('the audit trail links incident.deleted to the incident; the screen says plainly that it is not found', async () => {
    const w = await world.get();
    const { id } = await incidentWithTwoAlerts(w, 'payroll');
    assert.equal((await ownerCall(w, 'DELETE', `/incidents/${id}`)).status, 204);
    const page = await w.signedIn();
    await page.goto(`${w.latchkey.origin}/#/audit`);
    await page.locator('#audit-list table').waitFor();
    await page.fill('input[name=target_id]', id);
    await page.click('form.filters button[type=submit]');
    await eventually('only the deleted incident\'s events are listed', async () => (await page.locator('#audit-list td code.action').allInnerTexts()).join(' ') === 'incident.deleted');
    const link = page.locator('#audit-list tr', { hasText: 'incident.deleted' }).locator('a');
    assert.equal(await link.innerText(), `incident ${id}`);
    assert.equal(await link.getAttribute('href'), `#/incidents/${id}`);
    await link.click();
    await page.locator('#not-found').waitFor();
    assert.equal(new URL(page.url()).hash, `#/incidents/${id}`);
    const view = await page.locator('.view').innerText();
    assert.match(view, /Not found/);
    assert.match(view, /not_found: incident not found/, 'the API\'s own message');
    assert.match(view, /may have been deleted/);
    await page.locator('.view a', { hasText: '← Incidents' }).click();
    await eventually('the way back leads to the incident list', async () => new URL(page.url()).hash === '#/incidents');
    await page.locator('#incident-list').waitFor();
    w.expectNoScriptErrors();
  });

  test('an address whose id is broken percent-encoding says there is no such page, as an unknown section does', async () => {
    const w = await world.get();
    const page = await w.signedIn();
    for (const hash of ['#/incidents/%E0', '#/keys/%', '#/nowhere']) {
      await page.goto(`${w.latchkey.origin}/${hash}`);
      await page.locator('.view .notice', { hasText: 'There is no page' }).waitFor();
      assert.match(await page.locator('.view').innerText(), /There is no page "#\/(incidents|keys|nowhere)/);
    }
    w.expectNoScriptErrors();
  });

  test('a viewer reads the incident without lifecycle, edit or delete controls; a forced PATCH or DELETE is refused', async () => {
    const w = await world.get();
    const { id } = await incidentWithTwoAlerts(w, 'search');
    const viewer = await createUser(w, 'incident-viewer@example.com', 'viewer');
    const page = await w.signedIn(viewer);
    await page.goto(`${w.latchkey.origin}/#/incidents/${id}`);
    await page.waitForSelector('#last-payload');
    for (const hidden of ['#acknowledge', '#resolve', '#incident-edit', '#incident-delete']) assert.equal(await page.locator(hidden).count(), 0, hidden);
    const forced = await callAsSession(page, 'PATCH', `/incidents/${id}`, { title: 'nothing to see' });
    assert.equal(forced.status, 403);
    assert.equal(forced.body.error.code, 'insufficient_permissions');
    assert.equal((await w.latchkey.get(`/incidents/${id}`)).incident.title, 'search is down');
    const forcedDelete = await callAsSession(page, 'DELETE', `/incidents/${id}`);
    assert.equal(forcedDelete.status, 403);
    assert.equal(forcedDelete.body.error.code, 'insufficient_permissions');
    assert.equal((await ownerCall(w, 'GET', `/incidents/${id}`)).status, 200, 'still there');
    w.expectNoScriptErrors();
  });
});
