import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { consoleWorld, OWNER } from '../support/browser.js';

/** Signing in and out of the console in a real browser (Debian's Chromium). */
describe('console: sign-in, reload, sign-out', { timeout: 120_000 }, () => {
  const world = consoleWorld();
  after(() => world.close());

  test('a wrong password shows the API’s message and stays on the sign-in form', async () => {
    const w = await world.get();
    const page = await w.open();
    await page.fill('#signin input[name=email]', OWNER.email);
    await page.fill('#signin input[name=password]', 'not the password');
    await page.click('#signin button[type=submit]');
    const error = page.locator('#signin .error');
    await error.waitFor();
    assert.match(await error.innerText(), /invalid_credentials: the email or password is wrong/);
    assert.equal(await page.locator('#nav a').count(), 0, 'no sections before signing in');
    w.expectNoScriptErrors();
  });

  test('signing in lands on the key list, with the user and their account role in the header', async () => {
    const w = await world.get();
    const page = await w.signedIn();
    assert.equal(new URL(page.url()).hash, '#/keys');
    assert.equal(await page.locator('#current-user').innerText(), 'owner');
    assert.equal(await page.locator('#current-role').innerText(), 'owner');
    const rows = await page.locator('#key-list tbody tr').allInnerTexts();
    assert.ok(rows.some((r) => r.includes('Owner key (from init)')), rows.join('\n'));
    assert.deepEqual(await page.locator('#nav a').allInnerTexts(), ['API keys', 'Personal tokens', 'Audit trail', 'Teams & services', 'Incidents', 'Workflows', 'Users']);
    const cookies = await page.context().cookies();
    const session = cookies.find((c) => c.name === 'latchkey_session');
    assert.ok(session?.httpOnly && session.sameSite === 'Strict', JSON.stringify(cookies));
    assert.deepEqual(await page.evaluate('[localStorage.length, sessionStorage.length, document.cookie]'), [0, 0, ''], 'nothing readable by scripts');
    w.expectNoScriptErrors();
  });

  test('a reload keeps you signed in, and writes still work (the CSRF token comes back from GET /session)', async () => {
    const w = await world.get();
    const page = await w.signedIn();
    await page.goto(`${w.latchkey.origin}/#/catalog`);
    await page.reload();
    await page.waitForSelector('#team-create');
    assert.equal(await page.locator('#current-role').innerText(), 'owner');
    await page.fill('#team-create input[name=name]', 'after-reload');
    await page.click('#team-create button[type=submit]');
    await page.locator('table.grid td', { hasText: 'after-reload' }).first().waitFor();
    const teams = await w.latchkey.get('/teams?limit=200');
    assert.ok(teams.teams.some((t: { name: string }) => t.name === 'after-reload'), 'the team was created by the reloaded page');
    w.expectNoScriptErrors();
  });

  test('signing out returns to the sign-in form, and the old cookie no longer works', async () => {
    const w = await world.get();
    const page = await w.signedIn();
    const cookie = (await page.context().cookies()).find((c) => c.name === 'latchkey_session')!;
    const asCookie = () => fetch(`${w.latchkey.origin}/api/v1/identity`, { headers: { cookie: `${cookie.name}=${cookie.value}` } });
    assert.equal((await asCookie()).status, 200, 'the cookie works while signed in');

    await page.click('#signout');
    await page.waitForSelector('#signin');
    assert.equal(await page.locator('#nav a').count(), 0);
    const refused = await asCookie();
    assert.equal(refused.status, 401);
    assert.equal(((await refused.json()) as { error: { code: string } }).error.code, 'missing_token');
    await page.reload();
    await page.waitForSelector('#signin');
    w.expectNoScriptErrors();
  });
});
