import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import type { RoleName } from '../../src/domain/access/permissions.js';
import { NO_REQUEST } from '../../src/domain/audit/audit-event.js';
import { OPERATOR } from '../../src/services/setup.js';
import { callAsSession, consoleWorld, createUser, ownerCall, type ConsoleWorld } from '../support/browser.js';

const ORDINARY_ROLES = ['viewer', 'incident_creator', 'incident_editor', 'services_editor'];
const ALL_ROLES = [...ORDINARY_ROLES, 'api_keys_manage', 'admin'];

/**
 * api_keys_manage and admin are granted only by a signed-in owner or admin (or the CLI), and whoever
 * may not grant them may not edit, rotate, disable or enable a key holding one either. A team's
 * manager holds every permission api_keys_manage gives in the team, so permissions alone would offer
 * them those controls: the console reads GET /roles' `privileged` and GET /identity's
 * `may_grant_privileged_roles` to leave out what the API would refuse.
 */
describe('console: controls on keys holding a privileged role', { timeout: 180_000 }, () => {
  const world = consoleWorld();
  after(() => world.close());

  /** Team alpha, managed by a member, with team keys holding api_keys_manage (one active, one disabled) and an ordinary one. */
  async function alpha(w: ConsoleWorld) {
    const team = await ownerCall(w, 'POST', '/teams', { name: 'team alpha' });
    assert.equal(team.status, 201, JSON.stringify(team.body));
    const manager = await createUser(w, 'alpha-manager@example.com', 'member');
    assert.equal((await ownerCall(w, 'PUT', `/teams/${team.body.team.id}/members/${manager.id}`, { role: 'manager' })).status, 204);
    const key = async (name: string, roles: RoleName[]) =>
      (await w.latchkey.services.apiKeys.create(OPERATOR, { name, scope: 'team', team_id: team.body.team.id, roles }, NO_REQUEST)).apiKey.id;
    const disabled = await key('alpha disabled key manager', ['api_keys_manage']);
    await w.latchkey.services.apiKeys.setEnabled(OPERATOR, disabled, false, NO_REQUEST);
    return { manager, disabled, privileged: await key('alpha key manager', ['viewer', 'api_keys_manage']), ordinary: await key('alpha incident editor', ['incident_editor']) };
  }

  const openKey = async (w: ConsoleWorld, page: Page, id: string, name: string) => {
    await page.goto(`${w.latchkey.origin}/#/keys/${id}`);
    await page.locator('.view h1', { hasText: name }).waitFor();
  };
  const count = (page: Page, selector: string) => page.locator(selector).count();
  const roleChoices = (page: Page, form: string) => page.locator(`${form} input[name=roles]`).evaluateAll((boxes) => boxes.map((b) => b.getAttribute('value')));
  const openCreateForm = async (w: ConsoleWorld, page: Page, hash: string, button: string, form: string) => {
    await page.goto(`${w.latchkey.origin}/${hash}`);
    await page.locator('.view table, .view .empty').first().waitFor();
    await page.click(button);
    await page.locator(form).waitFor();
  };

  test("a team's manager gets only Revoke on the team's keys holding api_keys_manage, everything on its other keys, no privileged role to grant; the API agrees; the owner gets it all", async () => {
    const w = await world.get();
    const { manager, privileged, disabled, ordinary } = await alpha(w);
    const page = await w.signedIn(manager);

    await openKey(w, page, privileged, 'alpha key manager');
    assert.equal(await count(page, '#revoke'), 1, 'revoking needs only api_keys:write in the team');
    for (const hidden of ['#rotate', '#disable', '#key-edit']) assert.equal(await count(page, hidden), 0, `no ${hidden} on a key holding api_keys_manage`);
    await openKey(w, page, disabled, 'alpha disabled key manager');
    assert.equal(await count(page, '#revoke'), 1);
    assert.equal(await count(page, '#enable'), 0, 'no #enable on a disabled key holding api_keys_manage');

    // What was hidden is what the API refuses, and nothing changed.
    const shown = async () => {
      const { name, status, token_hint: hint, token_last_issued_at: issued } = (await ownerCall(w, 'GET', `/api_keys/${privileged}`)).body.api_key;
      return { name, status, hint, issued };
    };
    const before = await shown();
    for (const [method, path, body] of [
      ['POST', `/api_keys/${privileged}/rotate`, {}], ['POST', `/api_keys/${privileged}/disable`, undefined],
      ['PATCH', `/api_keys/${privileged}`, { name: 'renamed' }], ['POST', `/api_keys/${disabled}/enable`, undefined],
    ] as const) {
      const forced = await callAsSession(page, method, path, body);
      assert.deepEqual([forced.status, forced.body.error.code], [403, 'escalation_denied'], `${method} ${path}`);
    }
    assert.deepEqual(await shown(), before);
    assert.equal(before.status, 'active');

    // An ordinary key of the same team: every control, and an edit form without the privileged roles.
    await openKey(w, page, ordinary, 'alpha incident editor');
    for (const control of ['#rotate', '#disable', '#revoke', '#key-edit']) assert.equal(await count(page, control), 1, `${control} on an ordinary team key`);
    assert.deepEqual(await roleChoices(page, '#key-edit'), ORDINARY_ROLES);

    // Create forms, a team key's and a personal token's, offer no privileged role either.
    await openCreateForm(w, page, '#/keys', '#new-key', '#key-create');
    assert.deepEqual(await roleChoices(page, '#key-create'), ORDINARY_ROLES);
    await openCreateForm(w, page, '#/tokens', '#new-token', '#token-create');
    assert.deepEqual(await roleChoices(page, '#token-create'), ORDINARY_ROLES);

    // The owner, who may grant them, still gets every control on those keys and every role in the forms.
    const owner = await w.signedIn();
    await openKey(w, owner, privileged, 'alpha key manager');
    for (const control of ['#rotate', '#disable', '#revoke', '#key-edit']) assert.equal(await count(owner, control), 1, `${control} for the owner`);
    assert.deepEqual(await roleChoices(owner, '#key-edit'), ALL_ROLES);
    await openKey(w, owner, disabled, 'alpha disabled key manager');
    assert.equal(await count(owner, '#enable'), 1, '#enable for the owner');
    await openCreateForm(w, owner, '#/keys', '#new-key', '#key-create');
    assert.deepEqual(await roleChoices(owner, '#key-create'), ALL_ROLES);
    await openCreateForm(w, owner, '#/tokens', '#new-token', '#token-create');
    assert.deepEqual(await roleChoices(owner, '#token-create'), ALL_ROLES);

    // And the owner's controls work: the rotation the manager was refused.
    await openKey(w, owner, privileged, 'alpha key manager');
    await owner.click('#rotate');
    const dialog = owner.locator('dialog.secret-dialog');
    const secret = (await dialog.locator('code.secret').innerText()).trim();
    await dialog.locator('button.close').click();
    const identity = await w.callWith(secret, '/identity');
    assert.deepEqual([identity.status, identity.body.api_key.id, identity.body.api_key.roles], [200, privileged, ['viewer', 'api_keys_manage']]);
    w.expectNoScriptErrors();
  });
});
