import { createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { sendError } from './errors.js';

/**
 * The web console: static files from src/console/, served at `/` (index.html) and
 * `/console/<file>`. It reaches the data only through the public REST API, as any client does.
 * Found beside this module's folder: src/console/ under tsx, and the copy the build puts in
 * dist/console/ (scripts/copy-console.mjs), so a built server never reads the source tree.
 */
const CONSOLE_DIR = new URL('../console/', import.meta.url);

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** No inline script or style, nothing from elsewhere, never framed. */
export const CONSOLE_CSP = [
  "default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:", "connect-src 'self'",
  "object-src 'none'", "base-uri 'none'", "form-action 'self'", "frame-ancestors 'none'",
].join('; ');

const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': CONSOLE_CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  // Revalidated on every load (the names carry no version), answered 304 when unchanged.
  'cache-control': 'no-cache',
};

/**
 * The allow-list: the files in the folder when the app is built, by name, with a known type.
 * A request names an entry of this map or gets 404; no part of the URL ever reaches the file system.
 */
function consoleFiles(): Map<string, { url: URL; type: string }> {
  const files = new Map<string, { url: URL; type: string }>();
  for (const name of readdirSync(fileURLToPath(CONSOLE_DIR))) {
    const type = CONTENT_TYPES[extname(name)];
    if (type && /^[a-z0-9-]+\.[a-z]+$/.test(name)) files.set(name, { url: new URL(name, CONSOLE_DIR), type });
  }
  return files;
}

export function registerConsole(app: FastifyInstance): void {
  const files = consoleFiles();

  // Each file is read and hashed once, on its first request: a built console does not change under a running server.
  const loaded = new Map<string, Promise<{ body: Buffer; etag: string }>>();
  const load = (url: URL) => readFile(url).then((body) => ({ body, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"` }));

  async function serve(name: string, request: FastifyRequest, reply: FastifyReply) {
    const file = files.get(name);
    if (!file) return sendError(request, reply, 'not_found', 'no such console file');
    let content = loaded.get(name);
    if (!content) loaded.set(name, (content = load(file.url)));
    const { body, etag } = await content.catch((err: unknown) => {
      loaded.delete(name); // a failed read is tried again next time
      throw err;
    });
    reply.headers({ ...SECURITY_HEADERS, etag, 'content-type': file.type });
    if (request.headers['if-none-match'] === etag) return reply.code(304).send();
    return reply.send(body);
  }

  // Not API routes: hidden from OpenAPI, and outside /api/v1, so no token or session hook runs.
  const schema = { hide: true };
  app.get('/', { schema }, (request, reply) => serve('index.html', request, reply));
  app.get('/console/:file', { schema }, (request, reply) => serve((request.params as { file: string }).file, request, reply));
}
