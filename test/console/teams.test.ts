import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { callAsSession, consoleWorld, createUser, eventually, ownerCall } from '../support/browser.js';

/** A team's page in the console: edit, members and their team roles, services, delete. */
describe('console: team detail', { timeout: 180_000 }, () => {
  const world = consoleWorld();
  after(() => world.close());

  test('from the catalogue to a team: add a manager, make them a member, remove them (Cancel first); edit; services listed', async () => {
    const w = await world.get();
    const user = await createUser(w, 'oncall@example.com', 'member', 'On Call');
    const teamId = (await w.latchkey.get(`/services/${w.latchkey.serviceId}`)).service.team_id;
    const page = await w.signedIn();
    await page.goto(`${w.latchkey.origin}/#/catalog`);
    await page.click('a:text("platform")');
    await page.waitForSelector('#team-name');
    assert.equal(new URL(page.url()).hash, `#/teams/${teamId}`);
    assert.equal(await page.locator('#nav a.active').innerText(), 'Teams & services');
    await page.locator('#team-services a', { hasText: 'monitoring' }).waitFor();

    await page.selectOption('#member-set select[name=user_id]', user.id);
    await page.selectOption('#member-set select[name=role]', 'manager');
    await page.click('#member-set button[type=submit]');
    const row = page.locator('#team-members tr', { hasText: 'oncall@example.com' });
    await row.filter({ hasText: 'manager' }).waitFor();
    assert.match(await row.innerText(), /On Call/);
    const members = async () => (await ownerCall(w, 'GET', `/teams/${teamId}/members`)).body.members;
    assert.deepEqual(await members(), [{ user_id: user.id, role: 'manager' }]);

    await row.locator('button', { hasText: 'Make member' }).click();
    await row.filter({ hasText: 'Make manager' }).waitFor();
    assert.deepEqual(await members(), [{ user_id: user.id, role: 'member' }]);

    await row.locator('button', { hasText: 'Remove' }).click();
    await page.locator('dialog.confirm button', { hasText: 'Cancel' }).click();
    assert.deepEqual(await members(), [{ user_id: user.id, role: 'member' }], 'Cancel keeps the member');
    await row.locator('button', { hasText: 'Remove' }).click();
    await page.locator('dialog.confirm button.danger').click();
    await page.locator('#team-members .empty').waitFor();
    assert.deepEqual(await members(), []);

    await page.fill('#team-edit input[name=description]', 'runs the platform');
    await page.click('#team-edit button[type=submit]');
    await page.locator('dl.facts', { hasText: 'runs the platform' }).waitFor();
    assert.equal((await ownerCall(w, 'GET', `/teams/${teamId}`)).body.team.description, 'runs the platform');

    await page.click('#team-delete');
    await page.locator('dialog.confirm button.danger').click();
    assert.match(await page.locator('#team-errors .error').innerText(), /^conflict: .*still has 1 services/, 'a team with services stays, and the page says why');
    w.expectNoScriptErrors();
  });

  test('an empty team is deleted after confirming; Cancel keeps it', async () => {
    const w = await world.get();
    const created = await ownerCall(w, 'POST', '/teams', { name: 'short-lived' });
    const id = created.body.team.id;
    const page = await w.signedIn();
    await page.goto(`${w.latchkey.origin}/#/teams/${id}`);
    await page.waitForSelector('#team-name');
    await page.fill('#team-edit input[name=name]', 'short-lived 2');
    await page.click('#team-edit button[type=submit]');
    await page.locator('#team-name', { hasText: 'short-lived 2' }).waitFor();
    await page.click('#team-delete');
    await page.locator('dialog.confirm button', { hasText: 'Cancel' }).click();
    assert.equal((await ownerCall(w, 'GET', `/teams/${id}`)).body.team.name, 'short-lived 2');
    await page.click('#team-delete');
    await page.locator('dialog.confirm button.danger').click();
    await eventually('the console is back on the catalogue', async () => new URL(page.url()).hash === '#/catalog');
    assert.equal((await ownerCall(w, 'GET', `/teams/${id}`)).status, 404);
    w.expectNoScriptErrors();
  });

  test('the audit trail links a team and a service to their screens', async () => {
    const w = await world.get();
    const team = (await ownerCall(w, 'POST', '/teams', { name: 'audited' })).body.team.id as string;
    const service = (await ownerCall(w, 'POST', '/services', { team_id: team, name: 'audited-db' })).body.service.id as string;
    const page = await w.signedIn();
    for (const [id, type, route, ready] of [[team, 'team', 'teams', '#team-name'], [service, 'service', 'services', '#service-settings']] as const) {
      await page.goto(`${w.latchkey.origin}/#/audit`);
      await page.locator('#audit-list table').waitFor();
      await page.fill('input[name=target_id]', id);
      await page.click('form.filters button[type=submit]');
      await eventually(`only the ${type}'s events are listed`, async () => (await page.locator('#audit-list td code.action').allInnerTexts()).join(' ') === `${type}.created`);
      const link = page.locator('#audit-list tr', { hasText: `${type}.created` }).locator('a');
      assert.equal(await link.getAttribute('href'), `#/${route}/${id}`);
      await link.click();
      await page.waitForSelector(ready);
      assert.equal(new URL(page.url()).hash, `#/${route}/${id}`);
    }
    w.expectNoScriptErrors();
  });

  test("a team's manager edits it and its members but is offered no Delete, which the server refuses: deleting a team needs global reach", async () => {
    const w = await world.get();
    const manager = await createUser(w, 'team-manager@example.com', 'member');
    const created = await ownerCall(w, 'POST', '/teams', { name: 'managed' });
    const teamId = created.body.team.id;
    assert.equal((await ownerCall(w, 'PUT', `/teams/${teamId}/members/${manager.id}`, { role: 'manager' })).status, 204);
    const page = await w.signedIn(manager);
    await page.goto(`${w.latchkey.origin}/#/teams/${teamId}`);
    await page.waitForSelector('#team-edit');
    assert.equal(await page.locator('#member-set').count(), 1, 'a manager chooses who is in the team');
    assert.ok(await page.locator('#team-delete').isHidden());
    const forced = await callAsSession(page, 'DELETE', `/teams/${teamId}`);
    assert.equal(forced.status, 403);
    assert.equal(forced.body.error.code, 'out_of_scope');
    assert.equal((await ownerCall(w, 'GET', `/teams/${teamId}`)).status, 200);
    w.expectNoScriptErrors();
  });

  test('a viewer sees members but no edit controls, and the server refuses a forced membership change', async () => {
    const w = await world.get();
    const viewer = await createUser(w, 'team-viewer@example.com', 'viewer');
    const teamId = (await w.latchkey.get(`/services/${w.latchkey.serviceId}`)).service.team_id;
    const page = await w.signedIn(viewer);
    await page.goto(`${w.latchkey.origin}/#/teams/${teamId}`);
    await page.waitForSelector('#team-members h2');
    for (const hidden of ['#team-edit', '#member-set']) assert.equal(await page.locator(hidden).count(), 0, hidden);
    assert.ok(await page.locator('#team-delete').isHidden());
    const forced = await callAsSession(page, 'PUT', `/teams/${teamId}/members/${viewer.id}`, { role: 'manager' });
    assert.equal(forced.status, 403);
    assert.equal(forced.body.error.code, 'insufficient_permissions');
    assert.ok(!(await ownerCall(w, 'GET', `/teams/${teamId}/members`)).body.members.some((m: any) => m.user_id === viewer.id));
    w.expectNoScriptErrors();
  });
});
