import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { startTestApp, testDatabases, type TestApp } from '../support/harness.js';
import { client, createService, createTeam, expectError, expectStatus, GHOST_ID, issueKey, uniqueName, type Json } from '../support/platform.js';

type Received = { path: string; body: unknown; headers: IncomingHttpHeaders };

/** A real webhook receiver: /ok answers 200, /flaky 503 once then 200, /bad 400, /hang never; a path in `before` first runs its step. */
async function startReceiver(): Promise<{ url: (path: string) => string; received: Received[]; before: Map<string, () => Promise<void>>; close(): Promise<void> }> {
  const received: Received[] = [];
  const before = new Map<string, () => Promise<void>>();
  const flakyHits = new Map<string, number>();
  const server: Server = createServer((req, res) => {
    let text = '';
    req.on('data', (chunk) => (text += chunk));
    req.on('end', () => {
      const path = req.url ?? '';
      received.push({ path, body: JSON.parse(text), headers: req.headers });
      const step = before.get(path);
      if (step) return void step().then(() => answer(path, res), () => res.writeHead(500).end());
      answer(path, res);
    });
  });
  function answer(path: string, res: ServerResponse): void {
    if (path.startsWith('/hang')) return;
    if (path.startsWith('/flaky')) {
      const hits = (flakyHits.get(path) ?? 0) + 1;
      flakyHits.set(path, hits);
      res.writeHead(hits === 1 ? 503 : 200).end();
      return;
    }
    res.writeHead(path.startsWith('/bad') ? 400 : 200).end();
  }
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: (path) => `http://127.0.0.1:${port}${path}`,
    received,
    before,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

for (const db of testDatabases()) {
  describe(`workflows and automation requests on ${db.name}`, () => {
    let t: TestApp;
    let api: ReturnType<typeof client>;
    let receiver: Awaited<ReturnType<typeof startReceiver>>;
    let teamA: string;
    let teamB: string;
    let serviceA: Json;
    let serviceB: Json;
    let editorA: string;
    let globalCreator: { id: string; token: string };

    before(async () => {
      t = await startTestApp(db);
      api = client(t);
      receiver = await startReceiver();
      teamA = await createTeam(t);
      teamB = await createTeam(t);
      serviceA = await createService(t, teamA, { api_filter: { path: 'never', op: 'exists' } });
      serviceB = await createService(t, teamB);
      editorA = (await issueKey(t, { scope: 'team', team_id: teamA, roles: ['services_editor'] })).token;
      globalCreator = await issueKey(t, { scope: 'global', roles: ['incident_creator'] });
    });
    after(async () => {
      await t.close();
      await receiver.close();
    });

    const when = (tag: string) => ({ path: 'tag', op: 'equals', value: tag });
    async function workflow(body: object, token?: string): Promise<Json> {
      return expectStatus(await api.post('/workflows', { name: uniqueName('wf'), ...body }, token), 201).workflow;
    }
    const hitsOn = (path: string) => receiver.received.filter((r) => r.path === path);

    test('workflows CRUD: a team key manages its own team’s workflows only; global workflows need global reach', async () => {
      const tag = uniqueName('tag');
      const actions = [{ type: 'create_incident', service_id: serviceA.id }];
      const mine = await workflow({ team_id: teamA, filter: when(tag), actions }, editorA);
      assert.equal(mine.team_id, teamA);
      assert.equal(mine.enabled, true);
      assert.deepEqual(mine.filter, when(tag));
      const global = await workflow({ filter: when(tag), actions, enabled: false });
      assert.equal(global.team_id, null);

      expectError(await api.post('/workflows', { name: 'g', filter: when(tag), actions }, editorA), 403, 'out_of_scope');
      expectError(await api.post('/workflows', { name: 'b', team_id: teamB, filter: when(tag), actions: [{ type: 'create_incident', service_id: serviceB.id }] }, editorA), 403, 'out_of_scope');
      for (const attempt of [
        (id: string) => api.get(`/workflows/${id}`, editorA),
        (id: string) => api.patch(`/workflows/${id}`, { enabled: true }, editorA),
        (id: string) => api.del(`/workflows/${id}`, editorA),
      ]) {
        expectError(await attempt(global.id), 404, 'not_found');
      }
      assert.equal(expectStatus(await api.get(`/workflows/${global.id}`), 200).workflow.enabled, false, 'untouched');
      const listed = expectStatus(await api.get('/workflows', editorA), 200).workflows.map((w: Json) => w.id);
      assert.deepEqual(listed, [mine.id], 'a team key lists its team’s workflows, not global ones');
      const serviceViewer = await issueKey(t, { scope: 'service', service_id: serviceA.id, roles: ['viewer'] });
      assert.deepEqual(expectStatus(await api.get('/workflows', serviceViewer.token), 200).workflows, [], 'nor does a service key');

      const renamed = expectStatus(await api.patch(`/workflows/${mine.id}`, { name: 'renamed', enabled: false }, editorA), 200).workflow;
      assert.equal(renamed.name, 'renamed');
      assert.equal(renamed.enabled, false);
      expectStatus(await api.del(`/workflows/${mine.id}`, editorA), 204);
      expectError(await api.get(`/workflows/${mine.id}`), 404, 'not_found');
      expectStatus(await api.del(`/workflows/${global.id}`), 204);
    });

    test('the audit trail records who created, changed and deleted a workflow; a webhook by its host, never its URL', async () => {
      const secretPath = '/services/T000/B000/very-secret-webhook-token';
      const created = await workflow({ team_id: teamA, filter: when('audited'), actions: [{ type: 'webhook', url: `https://hooks.example.com${secretPath}` }] }, editorA);
      expectStatus(await api.patch(`/workflows/${created.id}`, { enabled: false, description: 'paused' }, editorA), 200);
      const retried = { type: 'webhook', url: `https://hooks.example.com${secretPath}`, max_attempts: 5, timeout_ms: 1000 };
      expectStatus(await api.patch(`/workflows/${created.id}`, { actions: [retried] }, editorA), 200);
      // The same settings again: no change, no event, updated_at kept.
      const lastChanged = expectStatus(await api.get(`/workflows/${created.id}`), 200).workflow.updated_at;
      t.clock.advance(1000);
      const unchanged = expectStatus(await api.patch(`/workflows/${created.id}`, { actions: [retried], enabled: false, name: created.name }, editorA), 200).workflow;
      assert.equal(unchanged.updated_at, lastChanged);
      // Another secret path on the same host: the trail says the URL changed, and shows neither.
      expectStatus(await api.patch(`/workflows/${created.id}`, { actions: [{ ...retried, url: 'https://hooks.example.com/services/T000/B000/another-secret' }] }, editorA), 200);
      expectStatus(await api.del(`/workflows/${created.id}`, editorA), 204);
      const trail = expectStatus(await api.get(`/audit_events?target_id=${created.id}`), 200).audit_events as Json[];
      assert.deepEqual(trail.map((e) => [e.action, e.target_type]), [
        ['workflow.deleted', 'workflow'], ['workflow.updated', 'workflow'], ['workflow.updated', 'workflow'], ['workflow.updated', 'workflow'], ['workflow.created', 'workflow'],
      ]);
      const [deleted, urlChanged, settingsChanged, updated, made] = trail;
      assert.deepEqual(urlChanged!.details, { from: {}, to: {}, webhook_url_changed: true });
      assert.deepEqual(made!.details.actions, [{ type: 'webhook', host: 'hooks.example.com', max_attempts: 3, timeout_ms: 5000 }]);
      assert.deepEqual(settingsChanged!.details, {
        from: { actions: [{ type: 'webhook', host: 'hooks.example.com', max_attempts: 3, timeout_ms: 5000 }] },
        to: { actions: [{ type: 'webhook', host: 'hooks.example.com', max_attempts: 5, timeout_ms: 1000 }] },
      }, 'a changed timeout or retry count shows, by host');
      assert.equal(made!.details.team_id, teamA);
      assert.deepEqual(updated!.details, { from: { description: '', enabled: true }, to: { description: 'paused', enabled: false } });
      assert.equal(deleted!.details.name, created.name);
      assert.ok(trail.every((e) => e.actor.type === 'api_key'));
      assert.equal(JSON.stringify(trail).includes('very-secret'), false, 'the webhook URL is not in the trail');
      assert.equal(JSON.stringify(trail).includes('another-secret'), false);
      const teamView = expectStatus(await api.get(`/audit_events?target_id=${created.id}`, (await issueKey(t, { scope: 'team', team_id: teamA, roles: ['admin'] })).token), 200).audit_events;
      assert.equal(teamView.length, trail.length, 'the team sees its workflow’s trail');
    });

    test('a webhook URL is shown whole only to whoever may change its workflow: a reader sees its origin, not the path that is often its secret', async () => {
      const secret = 'T000/B000/readers-must-not-see';
      const url = `https://hooks.example.com/services/${secret}?sig=readers-must-not-see`;
      const create = { type: 'create_incident', service_id: serviceA.id };
      const made = await workflow({ team_id: teamA, filter: when('shown'), actions: [create, { type: 'webhook', url, timeout_ms: 1000 }] }, editorA);
      assert.equal(made.actions[1].url, url, 'its author is shown it whole');
      const shownBy = async (token: string | undefined) => {
        const shown = expectStatus(await api.get(`/workflows/${made.id}`, token), 200).workflow;
        const listed = (expectStatus(await api.get(`/workflows?team_id=${teamA}&limit=200`, token), 200).workflows as Json[]).find((w) => w.id === made.id);
        assert.deepEqual(listed, shown, 'the list shows what the workflow shows');
        return shown.actions;
      };
      const teamViewer = (await issueKey(t, { scope: 'team', team_id: teamA, roles: ['viewer'] })).token;
      const globalViewer = (await issueKey(t, { scope: 'global', roles: ['viewer'] })).token;
      const incidentEditor = (await issueKey(t, { scope: 'global', roles: ['incident_editor'] })).token;
      for (const reader of [teamViewer, globalViewer, incidentEditor]) {
        const actions = await shownBy(reader);
        assert.deepEqual(actions, [create, { type: 'webhook', url: 'https://hooks.example.com/[REDACTED]', timeout_ms: 1000, max_attempts: 3 }], 'a reader sees where it posts, not how');
        assert.equal(JSON.stringify(actions).includes('readers-must-not-see'), false);
      }
      for (const writer of [editorA, undefined, (await issueKey(t, { scope: 'global', roles: ['services_editor'] })).token]) {
        assert.equal((await shownBy(writer))[1].url, url, 'whoever may change it is shown it whole, to edit it');
      }
      const other = await workflow({ team_id: teamB, filter: when('shown'), actions: [{ type: 'webhook', url }] });
      const editorOfB = (await issueKey(t, { scope: 'team', team_id: teamB, roles: ['services_editor'] })).token;
      assert.equal(expectStatus(await api.get(`/workflows/${other.id}`, editorOfB), 200).workflow.actions[0].url, url, 'write in the workflow’s own team is enough');
      expectError(await api.get(`/workflows/${made.id}`, editorOfB), 404, 'not_found');
      for (const id of [made.id, other.id]) expectStatus(await api.del(`/workflows/${id}`), 204);
    });

    test('invalid filters and actions are refused: 400, pointing at the problem', async () => {
      const actions = [{ type: 'create_incident', service_id: serviceA.id }];
      const bad = expectError(await api.post('/workflows', { name: 'x', filter: { any: [{ path: 'a', op: 'gt', value: [] }] }, actions }), 400, 'invalid_filter');
      assert.deepEqual(bad.details.errors.map((e: Json) => e.path), ['/any/0/value']);
      const other = expectError(await api.post('/workflows', { name: 'x', team_id: teamA, filter: when('x'), actions: [actions[0], { type: 'create_incident', service_id: serviceB.id }] }), 400, 'validation_failed');
      assert.equal(other.details.field, 'actions[1].service_id');
      expectError(await api.post('/workflows', { name: 'x', filter: when('x'), actions: [{ type: 'create_incident', service_id: GHOST_ID }] }), 400, 'validation_failed');
      expectError(await api.post('/workflows', { name: 'x', filter: when('x'), actions: [{ type: 'webhook', url: 'ftp://example.com/' }] }), 400, 'validation_failed');
      expectError(await api.post('/workflows', { name: 'x', filter: when('x'), actions: [] }), 400, 'validation_failed');
      const existing = await workflow({ team_id: teamA, filter: when(uniqueName('tag')), actions });
      expectError(await api.patch(`/workflows/${existing.id}`, { filter: { all: 'no' } }), 400, 'invalid_filter');
      expectError(await api.patch(`/workflows/${existing.id}`, { actions: [{ type: 'create_incident', service_id: serviceB.id }] }), 400, 'validation_failed');
      assert.deepEqual(expectStatus(await api.get(`/workflows/${existing.id}`), 200).workflow, existing);
    });

    test('POST /requests needs a global key: team and service keys get 403 global_token_required', async () => {
      const before = expectStatus(await api.get('/requests'), 200).requests;
      for (const spec of [{ scope: 'team' as const, team_id: teamA }, { scope: 'service' as const, service_id: serviceB.id }]) {
        const key = await issueKey(t, { ...spec, roles: ['incident_creator'] });
        expectError(await api.post('/requests', { from: spec.scope }, key.token), 403, 'global_token_required');
      }
      assert.deepEqual(expectStatus(await api.get('/requests'), 200).requests, before);
    });

    test('a global request runs every matching enabled workflow, global or team: incidents opened, webhooks called', async () => {
      const tag = uniqueName('tag');
      const hook = `/ok/${tag}`;
      const global = await workflow({ filter: when(tag), actions: [{ type: 'create_incident', service_id: serviceA.id }, { type: 'webhook', url: receiver.url(hook) }] });
      const team = await workflow({ team_id: teamB, filter: { all: [when(tag), { path: 'level', op: 'gte', value: 2 }] }, actions: [{ type: 'webhook', url: receiver.url(hook) }] });
      await workflow({ filter: when(tag), enabled: false, actions: [{ type: 'create_incident', service_id: serviceB.id }] });
      await workflow({ team_id: teamB, filter: { all: [when(tag), { path: 'level', op: 'gte', value: 9 }] }, actions: [{ type: 'create_incident', service_id: serviceB.id }] });

      const payload = { tag, level: 3, summary: 'Deploy failed' };
      const request = expectStatus(await api.post('/requests', payload, globalCreator.token), 201).request;
      assert.equal(request.status, 'completed');
      assert.deepEqual(request.payload, payload);
      assert.equal(request.api_key_id, globalCreator.id);
      assert.deepEqual(request.runs.map((r: Json) => r.workflow_id).sort(), [global.id, team.id].sort());
      const globalRun = request.runs.find((r: Json) => r.workflow_id === global.id);
      assert.equal(globalRun.status, 'succeeded');
      const [opened, called] = globalRun.actions;
      assert.equal(opened.status, 'succeeded');
      assert.deepEqual({ ...called, detail: '' }, { type: 'webhook', status: 'succeeded', detail: '', attempts: 1, http_status: 200 });

      const incident = expectStatus(await api.get(`/incidents/${opened.incident_id}`), 200).incident;
      assert.equal(incident.service_id, serviceA.id, 'the named service, its own api_filter not consulted');
      assert.equal(incident.source, 'workflow');
      assert.equal(incident.title, 'Deploy failed');
      assert.equal(expectStatus(await api.get(`/incidents?service_id=${serviceB.id}`), 200).incidents.length, 0, 'disabled and unmatched workflows did nothing');

      const hits = hitsOn(hook);
      assert.equal(hits.length, 2);
      for (const hit of hits) {
        assert.deepEqual(hit.body, payload);
        assert.equal(hit.headers['x-latchkey-request-id'], request.id);
        assert.match(String(hit.headers['content-type']), /^application\/json/);
      }
      assert.deepEqual(hits.map((h) => h.headers['x-latchkey-workflow-id']).sort(), [global.id, team.id].sort());

      const byWorkflow = (r: Json) => ({ ...r, runs: [...r.runs].sort((a: Json, b: Json) => a.workflow_id.localeCompare(b.workflow_id)) });
      const listed = expectStatus(await api.get('/requests'), 200).requests.find((r: Json) => r.id === request.id);
      assert.deepEqual(byWorkflow(listed), byWorkflow(request));
      const teamReader = await issueKey(t, { scope: 'team', team_id: teamB, roles: ['viewer'] });
      const seen = expectStatus(await api.get('/requests', teamReader.token), 200).requests.find((r: Json) => r.id === request.id);
      assert.deepEqual(seen.runs.map((r: Json) => r.workflow_id), [team.id], 'a team sees its own runs only');

      const none = expectStatus(await api.post('/requests', { tag: `${tag}-other` }, globalCreator.token), 201).request;
      assert.equal(none.status, 'no_match');
      assert.deepEqual(none.runs, []);
    });

    test('a team reader pages through the requests that ran its team’s workflows: full pages, however many others came in between', async () => {
      const teamC = await createTeam(t);
      const tag = uniqueName('tag');
      await workflow({ team_id: teamC, filter: when(tag), actions: [{ type: 'webhook', url: receiver.url(`/ok/${tag}`) }] });
      const ours: string[] = [];
      for (let i = 0; i < 3; i++) ours.unshift(expectStatus(await api.post('/requests', { tag, i }, globalCreator.token), 201).request.id);
      for (let i = 0; i < 4; i++) expectStatus(await api.post('/requests', { tag: `${tag}-elsewhere`, i }, globalCreator.token), 201);
      const reader = (await issueKey(t, { scope: 'team', team_id: teamC, roles: ['viewer'] })).token;
      const first = expectStatus(await api.get('/requests?limit=2', reader), 200);
      assert.deepEqual(first.requests.map((r: Json) => r.id), ours.slice(0, 2), 'the newest two of its own, not an empty page');
      assert.ok(first.next_cursor);
      const second = expectStatus(await api.get(`/requests?limit=2&cursor=${first.next_cursor}`, reader), 200);
      assert.deepEqual(second.requests.map((r: Json) => r.id), ours.slice(2));
      assert.equal(second.next_cursor, null, 'and nothing after its last');
      const serviceReader = (await issueKey(t, { scope: 'service', service_id: serviceA.id, roles: ['viewer'] })).token;
      assert.deepEqual(expectStatus(await api.get('/requests', serviceReader), 200), { requests: [], next_cursor: null }, 'a service key runs no workflow, and sees no request');
    });

    test('a webhook answering 503 is retried and then succeeds (attempts 2)', async () => {
      const tag = uniqueName('tag');
      const hook = `/flaky/${tag}`;
      await workflow({ filter: when(tag), actions: [{ type: 'webhook', url: receiver.url(hook), max_attempts: 3 }] });
      const request = expectStatus(await api.post('/requests', { tag }, globalCreator.token), 201).request;
      assert.equal(request.status, 'completed');
      const [outcome] = request.runs[0].actions;
      assert.equal(outcome.status, 'succeeded');
      assert.equal(outcome.attempts, 2);
      assert.equal(outcome.http_status, 200);
      assert.equal(hitsOn(hook).length, 2);
    });

    test('a webhook answering 400 fails at once, without retry, and the later actions are skipped', async () => {
      const tag = uniqueName('tag');
      const hook = `/bad/${tag}`;
      const service = await createService(t, teamA);
      await workflow({ filter: when(tag), actions: [{ type: 'webhook', url: receiver.url(hook), max_attempts: 3 }, { type: 'create_incident', service_id: service.id }] });
      const request = expectStatus(await api.post('/requests', { tag }, globalCreator.token), 201).request;
      assert.equal(request.status, 'failed');
      const run = request.runs[0];
      assert.equal(run.status, 'failed');
      const [hook400, skipped] = run.actions;
      assert.deepEqual({ ...hook400, detail: '' }, { type: 'webhook', status: 'failed', detail: '', attempts: 1, http_status: 400 });
      assert.match(hook400.detail, /400/);
      assert.equal(skipped.status, 'skipped');
      assert.equal(skipped.incident_id, undefined);
      assert.equal(hitsOn(hook).length, 1);
      assert.deepEqual(expectStatus(await api.get(`/incidents?service_id=${service.id}`), 200).incidents, []);
    });

    test('a webhook to the cloud metadata address is never sent: the run fails at once, saying why, and the later actions are skipped', async () => {
      const tag = uniqueName('tag');
      const service = await createService(t, teamA);
      await workflow({ filter: when(tag), actions: [{ type: 'webhook', url: 'http://169.254.169.254/latest/meta-data/iam/', max_attempts: 3 }, { type: 'create_incident', service_id: service.id }] });
      const run = expectStatus(await api.post('/requests', { tag }, globalCreator.token), 201).request.runs[0];
      const [refused, skipped] = run.actions;
      assert.deepEqual({ ...refused, detail: '' }, { type: 'webhook', status: 'failed', detail: '', attempts: 1 });
      assert.match(refused.detail, /^not sent: 169\.254\.169\.254 is 169\.254\.169\.254, where webhooks are not allowed/);
      assert.equal(skipped.status, 'skipped');
      assert.deepEqual(expectStatus(await api.get(`/incidents?service_id=${service.id}`), 200).incidents, []);
    });

    test('a webhook that never answers fails after its timeout, saying so', async () => {
      const tag = uniqueName('tag');
      const hook = `/hang/${tag}`;
      await workflow({ filter: when(tag), actions: [{ type: 'webhook', url: receiver.url(hook), timeout_ms: 150, max_attempts: 1 }] });
      const request = expectStatus(await api.post('/requests', { tag }, globalCreator.token), 201).request;
      assert.equal(request.status, 'failed');
      const [outcome] = request.runs[0].actions;
      assert.equal(outcome.status, 'failed');
      assert.equal(outcome.attempts, 1);
      assert.match(outcome.detail, /no answer within 150 ms/);
      assert.equal(hitsOn(hook).length, 1);
    });

    test('a workflow deleted while its run is under way: the request is still answered 201 and stored, the run kept as it went', async () => {
      const tag = uniqueName('tag');
      const hook = `/ok/deleted-${tag}`;
      const doomed = await workflow({ filter: when(tag), actions: [{ type: 'webhook', url: receiver.url(hook) }] });
      const kept = await workflow({ filter: when(tag), actions: [{ type: 'webhook', url: receiver.url(`/ok/kept-${tag}`) }] });
      receiver.before.set(hook, async () => void expectStatus(await api.del(`/workflows/${doomed.id}`), 204));
      const request = expectStatus(await api.post('/requests', { tag }, globalCreator.token), 201).request;
      assert.equal(request.status, 'completed');
      assert.deepEqual(request.runs.map((r: Json) => r.workflow_id).sort(), [doomed.id, kept.id].sort());
      const listed = expectStatus(await api.get('/requests'), 200).requests.find((r: Json) => r.id === request.id);
      assert.ok(listed, 'the request is stored');
      assert.deepEqual(listed.runs.map((r: Json) => r.workflow_id).sort(), [doomed.id, kept.id].sort(), 'with the run of the workflow deleted meanwhile');
      expectError(await api.get(`/workflows/${doomed.id}`), 404, 'not_found');
    });

    test('a workflow deleted while it is being changed: the change answers 404 not_found (or 200 when it came first), never 500', async () => {
      for (let i = 0; i < 10; i++) {
        const target = await workflow({ filter: when(uniqueName('tag')), actions: [{ type: 'create_incident', service_id: serviceA.id }] });
        const [deleted, changed] = await Promise.all([
          api.del(`/workflows/${target.id}`),
          api.patch(`/workflows/${target.id}`, { description: 'changed', actions: [{ type: 'create_incident', service_id: serviceB.id }] }),
        ]);
        expectStatus(deleted, 204);
        if (changed.statusCode !== 200) expectError(changed, 404, 'not_found');
        expectError(await api.get(`/workflows/${target.id}`), 404, 'not_found');
      }
    });

    test('a request is answered in bounded time: once its 60 seconds are spent, no further attempt or action starts, and the run says why', async () => {
      const tag = uniqueName('tag');
      const slow = `/ok/slow-${tag}`;
      const service = await createService(t, teamA);
      // Worst case without a bound: 20 webhooks × 5 attempts × 30 s each, one after another.
      const many = Array.from({ length: 3 }, (_, i) => ({ type: 'webhook', url: receiver.url(`/ok/never-${tag}-${i}`), timeout_ms: 30_000, max_attempts: 5 }));
      await workflow({ filter: when(tag), actions: [{ type: 'webhook', url: receiver.url(slow) }, { type: 'create_incident', service_id: service.id }, ...many] });
      // The receiver takes 61 seconds to answer (on the server's clock).
      receiver.before.set(slow, async () => t.clock.advance(61_000));
      const request = expectStatus(await api.post('/requests', { tag }, globalCreator.token), 201).request;
      assert.equal(request.status, 'failed');
      const [answered, late, ...rest] = request.runs[0].actions;
      assert.equal(answered.status, 'succeeded');
      assert.equal(late.status, 'failed');
      assert.match(late.detail, /ran out of time/);
      assert.equal(late.incident_id, undefined);
      assert.deepEqual(rest.map((o: Json) => o.status), ['skipped', 'skipped', 'skipped']);
      assert.equal(receiver.received.filter((r) => r.path.startsWith(`/ok/never-${tag}`)).length, 0, 'no later webhook was called');
      assert.deepEqual(expectStatus(await api.get(`/incidents?service_id=${service.id}`), 200).incidents, []);
    });

    test('a webhook retried past the request’s 60 seconds stops retrying, saying so', async () => {
      const tag = uniqueName('tag');
      const hook = `/flaky/late-${tag}`;
      await workflow({ filter: when(tag), actions: [{ type: 'webhook', url: receiver.url(hook), max_attempts: 5 }] });
      receiver.before.set(hook, async () => t.clock.advance(61_000));
      const request = expectStatus(await api.post('/requests', { tag }, globalCreator.token), 201).request;
      const [outcome] = request.runs[0].actions;
      assert.equal(outcome.status, 'failed');
      assert.equal(outcome.attempts, 1);
      assert.match(outcome.detail, /ran out of time/);
      assert.equal(hitsOn(hook).length, 1);
    });

    test('a workflow whose filter changes within the same millisecond it was last changed runs on its new filter', async () => {
      // The test clock stands still: every change here is made at the same millisecond.
      const before = uniqueName('tag');
      const after = uniqueName('tag');
      const hook = `/ok/refiltered-${after}`;
      const changed = await workflow({ filter: when(before), actions: [{ type: 'webhook', url: receiver.url(hook) }] });
      assert.equal(expectStatus(await api.post('/requests', { tag: before }, globalCreator.token), 201).request.runs.length, 1);
      expectStatus(await api.patch(`/workflows/${changed.id}`, { filter: when(after) }), 200);
      const runs = expectStatus(await api.post('/requests', { tag: after }, globalCreator.token), 201).request.runs;
      assert.deepEqual(runs.map((r: Json) => r.workflow_id), [changed.id], 'the new filter matched');
      assert.deepEqual(expectStatus(await api.post('/requests', { tag: before, again: true }, globalCreator.token), 201).request.runs, [], 'the old one no longer does');
    });
  });
}
