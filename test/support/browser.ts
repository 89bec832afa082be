import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { startLiveLatchkey, type LiveLatchkey } from './live-server.js';

/**
 * Debian's Chromium, driven by playwright-core (which never downloads a browser).
 * scripts/install-test-deps.sh installs it. Where it cannot start, the calling test fails: it never skips.
 */
export const CHROMIUM = '/usr/bin/chromium';

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    assert.fail(`${CHROMIUM} is missing: the console's browser tests need Debian's chromium. Install it with scripts/install-test-deps.sh (apt-get install chromium); npm test runs that script first.`);
  }
  try {
    // launch() gives every browser a fresh, temporary user-data-dir of its own, removed on close.
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      // The background-networking flags matter: this machine's closed network refuses what Chromium would otherwise fetch.
      args: [
        '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync',
      ],
      timeout: 30_000,
    });
    return browser;
  } catch (err) {
    assert.fail(`${CHROMIUM} could not be started, so the console's browser tests cannot run here: ${(err as Error).message}`);
  }
}

export const OWNER = { email: 'owner@example.com', password: 'correct horse battery staple' };

/** Latchkey on a port (test/support/live-server.ts) and a browser pointed at it. */
export type ConsoleWorld = {
  readonly latchkey: LiveLatchkey;
  readonly browser: Browser;
  /** A fresh browser context (its own cookies) with the console open; page errors fail the test. */
  open(): Promise<Page>;
  /** Opens the console and signs in (as the owner unless told); resolves once the first list shows. */
  signedIn(who?: { email: string; password: string }): Promise<Page>;
  /** Fails on any script error or CSP violation logged by a console page since the last call. */
  expectNoScriptErrors(): void;
  /** A REST call with a given token, as any client would make it. */
  callWith(token: string, path: string, init?: RequestInit): Promise<{ status: number; body: any }>;
  close(): Promise<void>;
};

/**
 * Started lazily by the first test that needs it (not in a hook), so a machine where Chromium
 * cannot run counts failed tests rather than skipped ones.
 */
export function consoleWorld(): { get(): Promise<ConsoleWorld>; close(): Promise<void> } {
  let started: Promise<ConsoleWorld> | undefined;
  return {
    get: () => (started ??= startConsoleWorld()),
    async close() {
      if (started) await started.then((w) => w.close(), () => undefined);
    },
  };
}

async function startConsoleWorld(): Promise<ConsoleWorld> {
  const browser = await launchChromium();
  let latchkey: LiveLatchkey;
  try {
    latchkey = await startLiveLatchkey();
  } catch (err) {
    await browser.close();
    throw err;
  }
  const contexts: BrowserContext[] = [];
  const problems: string[] = [];
  const world: ConsoleWorld = {
    latchkey, browser,
    expectNoScriptErrors() {
      assert.deepEqual(problems.splice(0), [], 'no script errors or CSP violations in the console');
    },
    async open() {
      const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
      contexts.push(context);
      const page = await context.newPage();
      page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
      page.on('console', (message) => {
        // A refused API call is logged by the browser as a failed load: expected, and shown in the page.
        if (message.type() === 'error' && !/^Failed to load resource: the server responded with a status of 4\d\d/.test(message.text())) problems.push(message.text());
      });
      await page.goto(`${latchkey.origin}/`);
      return page;
    },
    async signedIn(who = OWNER) {
      const page = await world.open();
      await page.fill('#signin input[name=email]', who.email);
      await page.fill('#signin input[name=password]', who.password);
      await page.click('#signin button[type=submit]');
      await page.waitForSelector('#signout');
      await page.waitForSelector('.view table, .view .empty');
      return page;
    },
    async callWith(token, path, init = {}) {
      const res = await fetch(`${latchkey.origin}/api/v1${path}`, { ...init, headers: { authorization: `Bearer ${token}`, ...init.headers } });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : null };
    },
    async close() {
      for (const context of contexts) await context.close().catch(() => undefined);
      await browser.close();
      await latchkey.close();
    },
  };
  return world;
}

/** Polls `check` until it holds (what a user waits for on a page), or fails naming `what`. */
export async function eventually(what: string, check: () => Promise<boolean>, deadlineMs = 10_000): Promise<void> {
  const until = Date.now() + deadlineMs;
  while (!(await check())) {
    if (Date.now() > until) assert.fail(`timed out after ${deadlineMs / 1000} s waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * A REST call made with a signed-in page's own session (its cookie and CSRF token), outside the
 * console's UI: what a user could force by hand with the controls hidden.
 */
export async function callAsSession(page: Page, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const origin = new URL(page.url()).origin;
  const session = await page.request.get(`${origin}/api/v1/session`);
  assert.equal(session.status(), 200, await session.text());
  const { csrf_token: csrf } = await session.json();
  const res = await page.request.fetch(`${origin}/api/v1${path}`, {
    method, headers: { 'x-csrf-token': csrf, ...(body !== undefined && { 'content-type': 'application/json' }) },
    ...(body !== undefined && { data: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status(), body: text ? JSON.parse(text) : null };
}

/**
 * Creates a user through the API and returns their id and sign-in: as the signed-in owner (a
 * session), since owner and admin roles are given only by a signed-in owner or admin, never by a key.
 */
export async function createUser(w: ConsoleWorld, email: string, role: 'owner' | 'admin' | 'member' | 'viewer', name = email.split('@')[0]!) {
  const password = 'a long enough password';
  const signIn = await fetch(`${w.latchkey.origin}/api/v1/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(OWNER) });
  assert.equal(signIn.status, 200);
  const cookie = signIn.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
  const { csrf_token: csrf } = await signIn.json() as { csrf_token: string };
  const created = await fetch(`${w.latchkey.origin}/api/v1/users`, {
    method: 'POST', headers: { 'content-type': 'application/json', cookie, 'x-csrf-token': csrf }, body: JSON.stringify({ email, name, password, role }),
  });
  const res = { status: created.status, body: await created.json() as any };
  await fetch(`${w.latchkey.origin}/api/v1/session`, { method: 'DELETE', headers: { cookie, 'x-csrf-token': csrf } });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return { id: res.body.user.id as string, email, password };
}

/** A JSON REST call with the owner token. */
export function ownerCall(w: ConsoleWorld, method: string, path: string, body?: unknown) {
  return w.callWith(w.latchkey.ownerToken, path, { method, ...(body !== undefined && { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }) });
}
