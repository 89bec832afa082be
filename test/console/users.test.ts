import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import { callAsSession, consoleWorld, createUser, OWNER, ownerCall } from '../support/browser.js';

/** Account management in the console: name and role edits, deletion, and only what the signed-in user may do. */
describe('console: users', { timeout: 180_000 }, () => {
  const world = consoleWorld();
  after(() => world.close());

  const row = (page: Page, email: string) => page.locator('#user-list tr', { hasText: email });
  const buttonsOf = async (page: Page, email: string) => (await row(page, email).locator('button').allInnerTexts()).map((t) => t.trim());

  test('an owner renames a user and changes their role; Delete asks first, Cancel keeps them, Delete ends them and their memberships and leaves a record with no controls', async () => {
    const w = await world.get();
    const user = await createUser(w, 'casey@example.com', 'member', 'Casey');
    const teamId = (await w.latchkey.get(`/services/${w.latchkey.serviceId}`)).service.team_id;
    assert.equal((await ownerCall(w, 'PUT', `/teams/${teamId}/members/${user.id}`, { role: 'member' })).status, 204);
    const page = await w.signedIn();
    await page.goto(`${w.latchkey.origin}/#/users`);
    await row(page, user.email).locator('button', { hasText: 'Edit' }).click();
    assert.deepEqual(await page.locator('#user-edit select[name=role] option').allInnerTexts(), ['viewer', 'member', 'admin', 'owner'], 'an owner may grant every role');
    await page.fill('#user-edit input[name=name]', 'Casey Jones');
    await page.selectOption('#user-edit select[name=role]', 'admin');
    await page.click('#user-edit button[type=submit]');
    await row(page, user.email).filter({ hasText: 'Casey Jones' }).filter({ hasText: 'admin' }).waitFor();
    assert.equal(await page.locator('#user-edit').count(), 0, 'the form closes once saved');
    const shown = (await w.latchkey.get(`/users/${user.id}`)).user;
    assert.equal(shown.name, 'Casey Jones');
    assert.equal(shown.role, 'admin');

    await row(page, user.email).locator('button', { hasText: 'Delete' }).click();
    await page.locator('dialog.confirm button', { hasText: 'Cancel' }).click();
    assert.equal((await w.latchkey.get(`/users/${user.id}`)).user.status, 'active', 'Cancel keeps the user');
    await row(page, user.email).locator('button', { hasText: 'Delete' }).click();
    await page.locator('dialog.confirm button.danger').click();
    await row(page, user.email).filter({ hasText: 'deleted' }).waitFor();
    const deleted = (await w.latchkey.get(`/users/${user.id}`)).user;
    assert.equal(deleted.status, 'deleted');
    assert.equal(deleted.email, `${user.email} (deleted ${user.id})`, 'the address is free for a new account');
    assert.deepEqual(deleted.teams, [], 'team memberships are removed');
    assert.deepEqual(await buttonsOf(page, user.email), [], 'a deleted user is a record: nothing to edit, deactivate or delete');
    assert.deepEqual(await buttonsOf(page, OWNER.email), ['Edit'], 'the owner may rename themself but not end their own account here');
    w.expectNoScriptErrors();
  });

  test('an admin is offered no owner role and no controls on owners; the server refuses both when forced', async () => {
    const w = await world.get();
    const admin = await createUser(w, 'admin@example.com', 'admin');
    const member = await createUser(w, 'dana@example.com', 'member');
    const page = await w.signedIn(admin);
    await page.goto(`${w.latchkey.origin}/#/users`);
    await row(page, member.email).waitFor();
    assert.deepEqual(await buttonsOf(page, OWNER.email), [], 'an admin cannot touch an owner');
    assert.deepEqual(await buttonsOf(page, member.email), ['Edit', 'Deactivate…', 'Delete…']);
    assert.deepEqual(await page.locator('#user-create select[name=role] option').allInnerTexts(), ['viewer', 'member', 'admin']);
    await row(page, member.email).locator('button', { hasText: 'Edit' }).click();
    assert.deepEqual(await page.locator('#user-edit select[name=role] option').allInnerTexts(), ['viewer', 'member', 'admin']);
    await page.selectOption('#user-edit select[name=role]', 'viewer');
    await page.click('#user-edit button[type=submit]');
    await row(page, member.email).filter({ hasText: 'viewer' }).waitFor();
    assert.equal((await w.latchkey.get(`/users/${member.id}`)).user.role, 'viewer');

    const ownerId = (await w.latchkey.get('/users')).users.find((u: any) => u.email === OWNER.email).id;
    const demote = await callAsSession(page, 'PATCH', `/users/${ownerId}`, { role: 'member' });
    assert.equal(demote.status, 403);
    assert.equal(demote.body.error.code, 'escalation_denied');
    const promote = await callAsSession(page, 'PATCH', `/users/${member.id}`, { role: 'owner' });
    assert.equal(promote.status, 403);
    assert.equal(promote.body.error.code, 'escalation_denied');
    assert.equal((await w.latchkey.get(`/users/${member.id}`)).user.role, 'viewer');
    w.expectNoScriptErrors();
  });

  test('a viewer may only rename themself; a forced role change is refused', async () => {
    const w = await world.get();
    const viewer = await createUser(w, 'vic@example.com', 'viewer', 'Vic');
    const page = await w.signedIn(viewer);
    await page.goto(`${w.latchkey.origin}/#/users`);
    await row(page, viewer.email).waitFor();
    assert.equal(await page.locator('#user-create').count(), 0);
    assert.deepEqual(await buttonsOf(page, OWNER.email), []);
    assert.deepEqual(await buttonsOf(page, viewer.email), ['Edit']);
    await row(page, viewer.email).locator('button', { hasText: 'Edit' }).click();
    assert.equal(await page.locator('#user-edit select[name=role]').count(), 0, 'no role to choose');
    await page.fill('#user-edit input[name=name]', 'Victoria');
    await page.click('#user-edit button[type=submit]');
    await row(page, viewer.email).filter({ hasText: 'Victoria' }).waitFor();
    assert.equal((await w.latchkey.get(`/users/${viewer.id}`)).user.name, 'Victoria');
    const forced = await callAsSession(page, 'PATCH', `/users/${viewer.id}`, { role: 'admin' });
    assert.equal(forced.status, 403);
    assert.equal((await w.latchkey.get(`/users/${viewer.id}`)).user.role, 'viewer');
    w.expectNoScriptErrors();
  });
});
