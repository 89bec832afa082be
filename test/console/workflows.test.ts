import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, test } from 'node:test';
import { callAsSession, consoleWorld, createUser, eventually, ownerCall } from '../support/browser.js';

/** Workflows and automation requests in the console, in a real browser. */
describe('console: workflows and automation requests', { timeout: 180_000 }, () => {
  const world = consoleWorld();
  const hooks: unknown[] = [];
  let hookServer: Server | undefined;
  after(async () => {
    await world.close();
    hookServer?.close();
  });

  async function hookUrl(): Promise<string> {
    hookServer ??= createServer((req, res) => {
      let body = '';
      req.on('data', (chunk) => (body += chunk));
      req.on('end', () => {
        hooks.push(JSON.parse(body));
        res.writeHead(204).end();
      });
    });
    if (!hookServer.listening) await new Promise<void>((resolve) => hookServer!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(hookServer.address() as AddressInfo).port}/hook`;
  }

  test('a workflow created in the console is what GET /workflows returns, and a request runs it: the run shows on the page', async () => {
    const w = await world.get();
    const url = await hookUrl();
    const page = await w.signedIn();
    await page.click('#nav a:text("Workflows")');
    await page.locator('#request-list .empty').waitFor();
    assert.match(await page.locator('.view').innerText(), /global API key; the console does not send them/);
    await page.click('#new-workflow');
    await page.fill('#workflow-create input[name=name]', 'page on critical');
    const filter = { all: [{ path: 'severity', op: 'equals', value: 'critical' }] };

    await page.fill('#workflow-create textarea[name=filter]', '{"all": [{"path": "severity", "op": "about"}]}');
    await page.click('#workflow-create button[type=submit]');
    const error = page.locator('#workflow-result .error');
    await error.waitFor();
    assert.match(await error.innerText(), /^invalid_filter: filter\/all\/0/);
    assert.deepEqual((await ownerCall(w, 'GET', '/workflows')).body.workflows, [], 'an invalid filter creates nothing');

    await page.fill('#workflow-create textarea[name=filter]', JSON.stringify(filter));
    await page.selectOption('#workflow-create select[name=service_id]', { label: 'monitoring' });
    await page.click('#add-action');
    await page.locator('#workflow-create .action-row').nth(1).locator('select[name=type]').selectOption('webhook');
    await page.locator('#workflow-create .action-row').nth(1).locator('input[name=url]').fill(url);
    await page.locator('#workflow-create .action-row').nth(1).locator('input[name=max_attempts]').fill('2');
    await page.click('#workflow-create button[type=submit]');
    await page.locator('#workflow-name', { hasText: 'page on critical' }).waitFor();

    const [saved] = (await ownerCall(w, 'GET', '/workflows')).body.workflows;
    assert.equal(saved.team_id, null);
    assert.equal(saved.enabled, true);
    assert.deepEqual(saved.filter, filter);
    assert.deepEqual(saved.actions, [
      { type: 'create_incident', service_id: w.latchkey.serviceId },
      { type: 'webhook', url, timeout_ms: 5000, max_attempts: 2 },
    ]);

    const sent = await ownerCall(w, 'POST', '/requests', { severity: 'critical', summary: 'checkout latency' });
    assert.equal(sent.status, 201, JSON.stringify(sent.body));
    assert.deepEqual(hooks, [{ severity: 'critical', summary: 'checkout latency' }]);
    await page.goto(`${w.latchkey.origin}/#/workflows`);
    const request = page.locator('#request-list tr', { hasText: 'checkout latency' });
    await request.waitFor();
    const text = await request.innerText();
    for (const expected of ['completed', 'page on critical', 'succeeded', 'incident opened', 'Owner key']) assert.ok(text.includes(expected), `${expected} in ${text}`);
    await request.locator('a', { hasText: 'incident' }).last().click();
    await page.locator('#incident-title', { hasText: 'checkout latency' }).waitFor();
    w.expectNoScriptErrors();
  });

  test('edit (disable, new filter, one action fewer) and delete: Cancel keeps the workflow, Delete removes it; a team workflow stays in its team', async () => {
    const w = await world.get();
    const teamId = (await w.latchkey.get(`/services/${w.latchkey.serviceId}`)).service.team_id;
    const created = await ownerCall(w, 'POST', '/workflows', {
      name: 'to edit', team_id: teamId, filter: null,
      actions: [{ type: 'create_incident', service_id: w.latchkey.serviceId }, { type: 'webhook', url: 'https://hooks.example.com/a' }],
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const id = created.body.workflow.id;
    const page = await w.signedIn();
    await page.goto(`${w.latchkey.origin}/#/workflows/${id}`);
    await page.waitForSelector('#workflow-edit');
    assert.match(await page.locator('dl.facts').innerText(), /Team\s+platform/);
    await page.uncheck('#workflow-edit input[name=enabled]');
    await page.fill('#workflow-edit textarea[name=filter]', '{"path": "env", "op": "equals", "value": "prod"}');
    await page.locator('#workflow-edit .action-row').nth(1).locator('button', { hasText: 'Remove' }).click();
    await page.click('#workflow-edit button[type=submit]');
    await page.locator('.view .badge', { hasText: 'disabled' }).waitFor();
    const edited = (await ownerCall(w, 'GET', `/workflows/${id}`)).body.workflow;
    assert.equal(edited.enabled, false);
    assert.equal(edited.team_id, teamId);
    assert.deepEqual(edited.filter, { path: 'env', op: 'equals', value: 'prod' });
    assert.deepEqual(edited.actions, [{ type: 'create_incident', service_id: w.latchkey.serviceId }]);

    await page.click('#workflow-delete');
    await page.locator('dialog.confirm button', { hasText: 'Cancel' }).click();
    assert.equal((await ownerCall(w, 'GET', `/workflows/${id}`)).status, 200, 'Cancel keeps it');
    await page.click('#workflow-delete');
    await page.locator('dialog.confirm button.danger').click();
    await eventually('the console is back on the workflow list', async () => new URL(page.url()).hash === '#/workflows');
    assert.equal((await ownerCall(w, 'GET', `/workflows/${id}`)).status, 404);
    w.expectNoScriptErrors();
  });

  test('the audit trail links workflow events to the workflow: its screen while it lives, a plain not-found once deleted', async () => {
    const w = await world.get();
    const created = await ownerCall(w, 'POST', '/workflows', { name: 'audited', actions: [{ type: 'webhook', url: 'https://hooks.example.com/d' }] });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const id = created.body.workflow.id;
    const page = await w.signedIn();
    const eventsOf = async (wanted: string) => {
      await page.goto(`${w.latchkey.origin}/#/audit`);
      await page.locator('#audit-list table').waitFor();
      await page.fill('input[name=target_id]', id);
      await page.click('form.filters button[type=submit]');
      await eventually(`the workflow's events are ${wanted}`, async () => (await page.locator('#audit-list td code.action').allInnerTexts()).join(' ') === wanted);
      const links = page.locator('#audit-list td a');
      assert.deepEqual(await links.allInnerTexts(), wanted.split(' ').map(() => `workflow ${id}`));
      for (const href of await links.evaluateAll((as) => as.map((a) => a.getAttribute('href')))) assert.equal(href, `#/workflows/${id}`);
      return links;
    };

    await (await eventsOf('workflow.created')).first().click();
    await page.locator('#workflow-name', { hasText: 'audited' }).waitFor();
    assert.equal(new URL(page.url()).hash, `#/workflows/${id}`);

    assert.equal((await ownerCall(w, 'DELETE', `/workflows/${id}`)).status, 204);
    await (await eventsOf('workflow.deleted workflow.created')).first().click();
    await page.locator('#not-found').waitFor();
    const view = await page.locator('.view').innerText();
    assert.match(view, /not_found: workflow not found/);
    assert.match(view, /may have been deleted/);
    assert.equal(await page.locator('.view a', { hasText: '← Workflows' }).getAttribute('href'), '#/workflows');
    w.expectNoScriptErrors();
  });

  test('a viewer reads workflows but is offered no create, edit or delete; a forced create is refused', async () => {
    const w = await world.get();
    const created = await ownerCall(w, 'POST', '/workflows', { name: 'read me', actions: [{ type: 'webhook', url: 'https://hooks.example.com/b' }] });
    const viewer = await createUser(w, 'workflow-viewer@example.com', 'viewer');
    const page = await w.signedIn(viewer);
    await page.goto(`${w.latchkey.origin}/#/workflows`);
    await page.locator('#workflow-list a', { hasText: 'read me' }).click();
    await page.waitForSelector('#workflow-name');
    assert.equal(await page.locator('#workflow-edit').count(), 0);
    assert.ok(await page.locator('#workflow-delete').isHidden());
    await page.goto(`${w.latchkey.origin}/#/workflows`);
    await page.locator('#workflow-list a', { hasText: 'read me' }).waitFor();
    assert.ok(await page.locator('#new-workflow').isHidden());
    const forced = await callAsSession(page, 'POST', '/workflows', { name: 'sneaky', actions: [{ type: 'webhook', url: 'https://hooks.example.com/c' }] });
    assert.equal(forced.status, 403);
    assert.equal(forced.body.error.code, 'insufficient_permissions');
    const names = (await ownerCall(w, 'GET', '/workflows')).body.workflows.map((x: any) => x.name);
    assert.ok(!names.includes('sneaky') && names.includes(created.body.workflow.name));
    w.expectNoScriptErrors();
  });
});
