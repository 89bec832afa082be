import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { startTestApp, type TestApp } from '../support/harness.js';
import { expectError } from '../support/platform.js';

/** The console's static files: served with a strict CSP, from an allow-list, never by path. */
describe('console files', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp();
  });
  after(() => t.close());

  const get = (url: string, headers: Record<string, string> = {}) => t.request({ method: 'GET', url, headers });
  const consoleFiles = readdirSync(new URL('../../src/console/', import.meta.url)).filter((name) => !name.endsWith('.md'));

  function assertSecurityHeaders(res: LightMyRequestResponse) {
    const csp = String(res.headers['content-security-policy']);
    assert.match(csp, /(^|; )default-src 'self'(;|$)/);
    assert.match(csp, /(^|; )script-src 'self'(;|$)/, 'scripts from the origin only: no inline script');
    assert.match(csp, /(^|; )frame-ancestors 'none'(;|$)/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    assert.equal(res.headers['x-content-type-options'], 'nosniff');
    assert.equal(res.headers['referrer-policy'], 'no-referrer');
    assert.equal(res.headers['cache-control'], 'no-cache');
  }

  test('GET / is the console page, with the security headers', async () => {
    const res = await get('/');
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-type'], 'text/html; charset=utf-8');
    assertSecurityHeaders(res);
    assert.match(res.body, /<script type="module" src="\/console\/app\.js"><\/script>/);
    assert.doesNotMatch(res.body, /<script>|<script type="module">|\sstyle=|\son[a-z]+=/i, 'no inline script, style or handler');
  });

  test('every file of src/console is served at /console/<file> with its content type', async () => {
    const types: Record<string, string> = { html: 'text/html; charset=utf-8', js: 'text/javascript; charset=utf-8', css: 'text/css; charset=utf-8' };
    assert.ok(consoleFiles.includes('app.js') && consoleFiles.includes('console.css'), consoleFiles.join(' '));
    for (const name of consoleFiles) {
      const res = await get(`/console/${name}`);
      assert.equal(res.statusCode, 200, name);
      assert.equal(res.headers['content-type'], types[name.split('.').pop()!], name);
      assertSecurityHeaders(res);
      assert.ok(res.body.length > 0, name);
    }
  });

  test('ETag revalidation: an unchanged file answers 304', async () => {
    const first = await get('/console/app.js');
    const etag = String(first.headers.etag);
    assert.match(etag, /^"[^"]+"$/);
    const again = await get('/console/app.js', { 'if-none-match': etag });
    assert.equal(again.statusCode, 304);
    assert.equal(again.body, '');
  });

  test('the scripts build DOM from text only, and import only served files', async () => {
    for (const name of consoleFiles.filter((n) => n.endsWith('.js'))) {
      const body = (await get(`/console/${name}`)).body;
      assert.doesNotMatch(body, /\.innerHTML\s*=|outerHTML\s*=|insertAdjacentHTML|document\.write/, `${name} builds DOM from text only`);
      for (const [, imported] of body.matchAll(/from '\.\/([a-z0-9-]+\.js)'/g)) assert.ok(consoleFiles.includes(imported!), `${name} imports ${imported}`);
    }
  });

  test('unknown names and path traversal answer 404 in the contract error envelope', async () => {
    for (const url of [
      '/console/nope.js', '/console/README.md', '/console/', '/console/../package.json', '/console/..%2Fpackage.json',
      '/console/..%2f..%2fpackage.json', '/console/%2e%2e%2fpackage.json', '/console/%2e%2e/package.json', '/console/..%5cpackage.json',
      '/console/app.js%00.css', '/console/sub/app.js', '/console/.env', '/index.html', '/package.json',
    ]) {
      const res = await get(url);
      expectError(res, 404, 'not_found');
      assert.doesNotMatch(res.body, /devDependencies/, url);
    }
  });

  test('hidden from OpenAPI, and no API authentication runs on them', async () => {
    const doc = (await get('/openapi.json')).json();
    assert.ok(!('/' in doc.paths) && !Object.keys(doc.paths).some((p) => p.startsWith('/console')), Object.keys(doc.paths).join(' '));
    const withBadToken = await get('/console/app.js', { authorization: 'Bearer nonsense' });
    assert.equal(withBadToken.statusCode, 200, 'a console file does not look at credentials');
  });
});
