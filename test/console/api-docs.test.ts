import assert from 'node:assert/strict';
import { test } from 'node:test';
import { eventually, launchChromium } from '../support/browser.js';
import { startLiveLatchkey } from '../support/live-server.js';

const METHODS = new Set(['get', 'put', 'post', 'patch', 'delete']);

/** The API reference at /docs, as a browser shows it under the Content-Security-Policy it is served with. */
test('GET /docs shows every operation of the OpenAPI document in Chromium, under a CSP without inline script, with no script error or CSP violation', async () => {
  const browser = await launchChromium();
  const latchkey = await startLiveLatchkey();
  try {
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(message.text());
    });
    const res = await page.goto(`${latchkey.origin}/docs`);
    const csp = String(res?.headers()['content-security-policy']);
    assert.match(csp, /(^|; )script-src 'self'(;|$)/, 'scripts from the origin only');
    assert.match(csp, /(^|; )frame-ancestors 'none'(;|$)/);
    assert.match(csp, /(^|; )img-src 'self' data:(;|$)/, 'no image from elsewhere: the validator badge is off');
    assert.doesNotMatch(csp, /upgrade-insecure-requests/, 'a plain-HTTP server serves its own assets over HTTP');

    await page.waitForSelector('.swagger-ui .info .title');
    assert.match(String(await page.textContent('.swagger-ui .info .title')), /^Latchkey/);
    const spec = await (await fetch(`${latchkey.origin}/openapi.json`)).json() as { paths: Record<string, Record<string, unknown>> };
    const operations = Object.values(spec.paths).flatMap((path) => Object.keys(path).filter((method) => METHODS.has(method))).length;
    assert.ok(operations > 50, `the document lists the API (${operations} operations)`);
    await eventually(`the page shows all ${operations} operations`, async () => (await page.locator('.opblock').count()) === operations);
    assert.deepEqual(problems, [], 'no script error or CSP violation');
  } finally {
    await browser.close();
    await latchkey.close();
  }
});
