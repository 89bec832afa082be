import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import { callAsSession, consoleWorld, createUser, eventually, ownerCall, type ConsoleWorld } from '../support/browser.js';

/** A service's page in the console: settings, field mapping, resolve filter, delete, change events and keys. */
describe('console: service detail', { timeout: 180_000 }, () => {
  const world = consoleWorld();
  after(() => world.close());

  async function newService(w: ConsoleWorld, name: string, apiFilter: unknown = null): Promise<string> {
    const teamId = (await w.latchkey.get(`/services/${w.latchkey.serviceId}`)).service.team_id;
    const res = await ownerCall(w, 'POST', '/services', { team_id: teamId, name, api_filter: apiFilter });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body.service.id;
  }
  const open = async (w: ConsoleWorld, page: Page, id: string) => {
    await page.goto(`${w.latchkey.origin}/#/services/${id}`);
    await page.waitForSelector('#service-name');
  };

  test('resolve filter and field mapping saved in the console decide how payloads open and resolve incidents', async () => {
    const w = await world.get();
    const id = await newService(w, 'billing', { path: 'app', op: 'equals', value: 'billing' });
    const page = await w.signedIn();
    await open(w, page, id);

    await page.fill('#resolve-edit textarea', '{"path": "state", "op": "equals_ish", "value": "ok"}');
    await page.click('#resolve-edit button[type=submit]');
    const error = page.locator('#resolve-edit .error');
    await error.waitFor();
    assert.match(await error.innerText(), /^invalid_filter: resolve_filter/);
    assert.equal((await w.latchkey.get(`/services/${id}`)).service.resolve_filter, null, 'an invalid filter saves nothing');

    const resolveFilter = { path: 'state', op: 'equals', value: 'ok' };
    await page.fill('#resolve-edit textarea', JSON.stringify(resolveFilter));
    await page.click('#resolve-edit button[type=submit]');
    await page.locator('#resolve-result .notice').waitFor();

    await page.fill('#service-settings input[name=map_title]', 'alert.name');
    await page.fill('#service-settings input[name=map_dedup_key]', 'alert.id');
    await page.click('#service-settings button[type=submit]');
    await page.locator('#field-mapping', { hasText: 'title ← alert.name' }).waitFor();
    const saved = (await w.latchkey.get(`/services/${id}`)).service;
    assert.deepEqual(saved.resolve_filter, resolveFilter);
    assert.deepEqual(saved.field_mapping, { title: 'alert.name', dedup_key: 'alert.id' });

    const firing = await ownerCall(w, 'POST', '/incidents', { app: 'billing', state: 'firing', alert: { name: 'invoice queue stuck', id: 'q-7' } });
    assert.equal(firing.status, 201, JSON.stringify(firing.body));
    const incident = firing.body.incidents.find((i: any) => i.service_id === id);
    assert.equal(incident.title, 'invoice queue stuck', 'the title comes from the mapped path');
    assert.equal(incident.dedup_key, 'q-7');
    const ok = await ownerCall(w, 'POST', '/incidents', { app: 'billing', state: 'ok', alert: { name: 'invoice queue stuck', id: 'q-7' } });
    assert.equal(ok.body.status, 'resolved', JSON.stringify(ok.body));
    assert.equal((await w.latchkey.get(`/incidents/${incident.id}`)).incident.status, 'resolved');

    await page.fill('#service-settings input[name=map_title]', '');
    await page.click('#service-settings button[type=submit]');
    await page.locator('#field-mapping', { hasText: 'dedup_key ← alert.id' }).waitFor();
    assert.deepEqual((await w.latchkey.get(`/services/${id}`)).service.field_mapping, { dedup_key: 'alert.id' }, 'an emptied path is unset');
    await page.fill('#resolve-edit textarea', 'null');
    await page.click('#resolve-edit button[type=submit]');
    await page.locator('#resolve-result .notice').waitFor();
    assert.equal((await w.latchkey.get(`/services/${id}`)).service.resolve_filter, null, 'null removes the resolve filter');
    w.expectNoScriptErrors();
  });

  test('rename, then delete: Cancel keeps the service, Delete removes it; change events and keys are listed', async () => {
    const w = await world.get();
    const id = await newService(w, 'scratch');
    const page = await w.signedIn();
    await open(w, page, id);
    await page.fill('#service-settings input[name=name]', 'scratch renamed');
    await page.fill('#service-settings input[name=description]', 'temporary');
    await page.click('#service-settings button[type=submit]');
    await page.locator('#service-name', { hasText: 'scratch renamed' }).waitFor();
    const renamed = (await w.latchkey.get(`/services/${id}`)).service;
    assert.equal(renamed.name, 'scratch renamed');
    assert.equal(renamed.description, 'temporary');

    await page.click('#service-delete');
    await page.locator('dialog.confirm button', { hasText: 'Cancel' }).click();
    assert.equal((await ownerCall(w, 'GET', `/services/${id}`)).status, 200, 'Cancel keeps it');
    await page.click('#service-delete');
    await page.locator('dialog.confirm button.danger').click();
    await eventually('the console is back on the catalogue', async () => new URL(page.url()).hash === '#/catalog');
    assert.equal((await ownerCall(w, 'GET', `/services/${id}`)).status, 404);

    const sent = await fetch(`${w.latchkey.origin}/v2/change/enqueue`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ routing_key: w.latchkey.integrationKey, payload: { summary: 'deployed v42', source: 'ci', timestamp: '2026-12-01T10:00:00Z' } }),
    });
    assert.equal(sent.status, 202);
    await open(w, page, w.latchkey.serviceId);
    const change = page.locator('#change-events tr', { hasText: 'deployed v42' });
    await change.waitFor();
    assert.match(await change.innerText(), /ci/);
    const key = page.locator('#service-keys a', { hasText: 'external client' });
    await key.waitFor();
    assert.match(await page.locator('#service-keys tr', { hasText: 'external client' }).innerText(), /integration key/);
    await key.click();
    await page.waitForSelector('#key-status');

    await open(w, page, w.latchkey.serviceId);
    await page.click('#service-delete');
    await page.locator('dialog.confirm button.danger').click();
    assert.match(await page.locator('#service-errors .error').innerText(), /^conflict: .*live API keys/, 'a service with live keys is kept, and the page says why');
    w.expectNoScriptErrors();
  });

  test('a viewer sees the service without edit controls, and the server refuses the edit when forced', async () => {
    const w = await world.get();
    const viewer = await createUser(w, 'service-viewer@example.com', 'viewer');
    const page = await w.signedIn(viewer);
    await open(w, page, w.latchkey.serviceId);
    assert.equal(await page.locator('#service-settings').count(), 0);
    assert.ok(await page.locator('#service-delete').isHidden());
    assert.ok(await page.locator('#filter-edit button[type=submit]').isHidden());
    assert.ok(await page.locator('#resolve-edit button[type=submit]').isHidden());
    assert.equal(await page.locator('#resolve-edit textarea').getAttribute('readonly'), '');
    const forced = await callAsSession(page, 'PATCH', `/services/${w.latchkey.serviceId}`, { name: 'hijacked' });
    assert.equal(forced.status, 403);
    assert.equal(forced.body.error.code, 'insufficient_permissions');
    assert.equal((await w.latchkey.get(`/services/${w.latchkey.serviceId}`)).service.name, 'monitoring');
    w.expectNoScriptErrors();
  });
});
