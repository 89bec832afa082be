import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import { NO_REQUEST } from '../../src/domain/audit/audit-event.js';
import { OPERATOR } from '../../src/services/setup.js';
import { callAsSession, consoleWorld, createUser, ownerCall, type ConsoleWorld } from '../support/browser.js';

/**
 * Controls follow where the user holds a permission (GET /identity's grants), not whether they hold
 * it anywhere: a viewer account who manages team A is offered changes to team A's incidents,
 * services, workflows, members and keys, and none to team B's, which the API would refuse.
 */
describe('console: controls per team', { timeout: 180_000 }, () => {
  const world = consoleWorld();
  after(() => world.close());

  type Side = { team: string; service: string; incident: string; workflow: string; title: string };
  type Setup = { a: Side; b: Side; manager: { id: string; email: string; password: string } };
  let setup: Promise<Setup> | undefined;

  async function side(w: ConsoleWorld, name: string): Promise<Side> {
    const team = await ownerCall(w, 'POST', '/teams', { name: `team ${name}` });
    assert.equal(team.status, 201, JSON.stringify(team.body));
    const service = await ownerCall(w, 'POST', '/services', { team_id: team.body.team.id, name: `svc ${name}`, api_filter: { path: 'app', op: 'equals', value: name } });
    assert.equal(service.status, 201, JSON.stringify(service.body));
    const title = `${name} is down`;
    const incident = await ownerCall(w, 'POST', '/incidents', { app: name, summary: title, severity: 'error' });
    assert.equal(incident.status, 201, JSON.stringify(incident.body));
    assert.equal(incident.body.incidents.length, 1, 'opened on its own service only');
    const workflow = await ownerCall(w, 'POST', '/workflows', {
      name: `flow ${name}`, team_id: team.body.team.id, actions: [{ type: 'create_incident', service_id: service.body.service.id }],
    });
    assert.equal(workflow.status, 201, JSON.stringify(workflow.body));
    return { team: team.body.team.id, service: service.body.service.id, incident: incident.body.incidents[0].id, workflow: workflow.body.workflow.id, title };
  }

  /** Teams alpha (A, managed by the user) and bravo (B), each with a service, an open incident and a workflow. */
  function world2(w: ConsoleWorld): Promise<Setup> {
    return (setup ??= (async () => {
      const a = await side(w, 'alpha');
      const b = await side(w, 'bravo');
      const manager = await createUser(w, 'alpha-manager@example.com', 'viewer');
      assert.equal((await ownerCall(w, 'PUT', `/teams/${a.team}/members/${manager.id}`, { role: 'manager' })).status, 204);
      return { a, b, manager };
    })());
  }

  const go = async (w: ConsoleWorld, page: Page, hash: string, ready: string, hasText?: string) => {
    await page.goto(`${w.latchkey.origin}/${hash}`);
    await page.locator(ready, hasText ? { hasText } : {}).first().waitFor();
  };
  const count = (page: Page, selector: string) => page.locator(selector).count();

  test("a manager of team A is offered acknowledge, resolve, edit and delete on A's incident, none on B's; the API agrees", async () => {
    const w = await world.get();
    const { a, b, manager } = await world2(w);
    const page = await w.signedIn(manager);

    await go(w, page, `#/incidents/${a.incident}`, '#incident-title', a.title);
    for (const shown of ['#acknowledge', '#resolve', '#incident-edit', '#incident-delete']) assert.equal(await count(page, shown), 1, `${shown} on team A's incident`);

    await go(w, page, `#/incidents/${b.incident}`, '#incident-title', b.title);
    await page.locator('#last-payload').waitFor();
    for (const hidden of ['#acknowledge', '#resolve', '#incident-edit', '#incident-delete']) assert.equal(await count(page, hidden), 0, `no ${hidden} on team B's incident`);
    const forced = await callAsSession(page, 'POST', `/incidents/${b.incident}/acknowledge`);
    assert.deepEqual([forced.status, forced.body.error.code], [403, 'out_of_scope'], 'what was hidden is what the API refuses');

    // The list: buttons on A's row only.
    await go(w, page, '#/incidents', '#incident-list table');
    const row = (title: string) => page.locator('#incident-list tr', { hasText: title });
    assert.deepEqual(await row(a.title).locator('button').allInnerTexts(), ['Acknowledge', 'Resolve']);
    assert.equal(await row(b.title).locator('button').count(), 0, "no buttons on team B's incident");

    // And A's buttons work.
    await go(w, page, `#/incidents/${a.incident}`, '#incident-title', a.title);
    await page.click('#acknowledge');
    await page.locator('#incident-status', { hasText: 'acknowledged' }).waitFor();
    assert.equal((await ownerCall(w, 'GET', `/incidents/${a.incident}`)).body.incident.status, 'acknowledged');
    assert.equal((await ownerCall(w, 'GET', `/incidents/${b.incident}`)).body.incident.status, 'triggered');
    w.expectNoScriptErrors();
  });

  test("the same manager edits team A's team, service and workflow and makes keys for A only; B's screens offer nothing", async () => {
    const w = await world.get();
    const { a, b, manager } = await world2(w);
    const page = await w.signedIn(manager);

    await go(w, page, `#/teams/${a.team}`, '#team-members h2');
    assert.equal(await count(page, '#team-edit'), 1);
    assert.equal(await count(page, '#member-set'), 1);
    await go(w, page, `#/teams/${b.team}`, '#team-name', 'team bravo');
    await page.locator('#team-members h2').first().waitFor();
    assert.equal(await count(page, '#team-edit'), 0, "no edit on team B");
    assert.equal(await count(page, '#member-set'), 0, "no member changes on team B");
    assert.ok(await page.locator('#team-delete').isHidden());

    await go(w, page, `#/services/${a.service}`, '#service-name', 'svc alpha');
    assert.equal(await count(page, '#service-settings'), 1);
    assert.ok(await page.locator('#service-delete').isVisible());
    await go(w, page, `#/services/${b.service}`, '#service-name', 'svc bravo');
    assert.equal(await count(page, '#service-settings'), 0, "no settings on team B's service");
    assert.ok(await page.locator('#service-delete').isHidden());
    assert.ok(await page.locator('#filter-edit button[type=submit]').isHidden());
    assert.equal(await count(page, '#service-keys'), 0, "team B's keys are not the manager's to read");

    await go(w, page, `#/workflows/${a.workflow}`, '#workflow-name', 'flow alpha');
    assert.equal(await count(page, '#workflow-edit'), 1);
    assert.ok(await page.locator('#workflow-delete').isVisible());
    await go(w, page, `#/workflows/${b.workflow}`, '#workflow-name', 'flow bravo');
    assert.equal(await count(page, '#workflow-edit'), 0, "no edit on team B's workflow");
    assert.ok(await page.locator('#workflow-delete').isHidden());

    // Creating: only in team A, never global.
    await go(w, page, '#/workflows', '#workflow-list table');
    await page.click('#new-workflow');
    assert.deepEqual(await page.locator('#workflow-create select[name=team_id] option').allInnerTexts(), ['team alpha']);
    await go(w, page, '#/catalog', '.view table');
    assert.equal(await count(page, '#team-create'), 0, 'a new team needs teams:write everywhere');
    assert.deepEqual(await page.locator('#service-create select[name=team_id] option').allInnerTexts(), ['team alpha']);
    await go(w, page, '#/keys', '#key-list table, #key-list .empty');
    await page.click('#new-key');
    assert.deepEqual(await page.locator('#key-create select[name=scope] option').allInnerTexts(), ['team', 'service']);
    assert.deepEqual(await page.locator('#key-create select[name=team_id] option').allInnerTexts(), ['— choose a team —', 'team alpha']);
    assert.deepEqual(await page.locator('#key-create select[name=service_id] option').allInnerTexts(), ['— choose a service —', 'svc alpha (team alpha)']);

    // A key of team A: changed by its manager when they hold all it holds there, else only revoked.
    const teamKey = async (roles: string[]) => (await w.latchkey.services.apiKeys.create(OPERATOR, { name: `alpha ${roles.join(' ')}`, scope: 'team', team_id: a.team, roles: roles as never }, NO_REQUEST)).apiKey.id;
    await go(w, page, `#/keys/${await teamKey(['incident_editor'])}`, '.view h1', 'alpha incident_editor');
    for (const shown of ['#rotate', '#disable', '#revoke', '#key-edit']) assert.equal(await count(page, shown), 1, `${shown} on a team A key the manager may change`);
    const adminKey = await teamKey(['admin']);
    await go(w, page, `#/keys/${adminKey}`, '.view h1', 'alpha admin');
    assert.equal(await count(page, '#revoke'), 1, 'revoking needs only api_keys:write in the team');
    for (const hidden of ['#rotate', '#disable', '#key-edit']) assert.equal(await count(page, hidden), 0, `no ${hidden} on a key that holds more than the manager`);
    const forced = await callAsSession(page, 'POST', `/api_keys/${adminKey}/rotate`, {});
    assert.deepEqual([forced.status, forced.body.error.code], [403, 'escalation_denied']);
    w.expectNoScriptErrors();
  });
});
