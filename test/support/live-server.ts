import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { loadConfig } from '../../src/config/index.js';
import { buildApp, type AppOptions } from '../../src/http/app.js';
import { createServices, type Services } from '../../src/services.js';

/**
 * Latchkey on a real port, for clients that speak HTTP themselves (Alertmanager, pdjs): as `npm
 * start` runs it, on an SQLite file (so events go through the writer thread), the real clock, one team with one service (no API filter) and an integration key for it.
 */
export type LiveLatchkey = {
  readonly app: FastifyInstance;
  readonly services: Services;
  /** `http://127.0.0.1:<port>` or `https://…` when started with TLS. */
  readonly origin: string;
  readonly port: number;
  readonly ownerToken: string;
  readonly serviceId: string;
  readonly integrationKey: string;
  /** GET on the REST API with the owner token, asserting 200. */
  get(url: string): Promise<any>;
  close(): Promise<void>;
};

export async function startLiveLatchkey(options: Pick<AppOptions, 'tls'> = {}): Promise<LiveLatchkey> {
  const dir = mkdtempSync(join(tmpdir(), 'latchkey-live-'));
  const config = loadConfig({ LATCHKEY_DATABASE_URL: `sqlite:${join(dir, 'latchkey.db')}` });
  const services = await createServices(config, { secret: randomBytes(32) });
  const app = await buildApp(services, options.tls ? { tls: options.tls } : {});
  const closeAll = async () => {
    await app.close();
    await services.close();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await app.listen({ host: '127.0.0.1', port: 0 });
    const { token: ownerToken } = await services.setup.init({ email: 'owner@example.com', password: 'correct horse battery staple' });
    const post = async (url: string, payload: object) => {
      const res = await app.inject({ method: 'POST', url: `/api/v1${url}`, headers: { authorization: `Bearer ${ownerToken}` }, payload });
      assert.equal(res.statusCode, 201, res.body);
      return res.json();
    };
    const teamId = (await post('/teams', { name: 'platform' })).team.id as string;
    const serviceId = (await post('/services', { team_id: teamId, name: 'monitoring', api_filter: null })).service.id as string;
    const integrationKey = (await post('/api_keys', { name: 'external client', kind: 'events', scope: 'service', service_id: serviceId })).token as string;
    const port = (app.server.address() as AddressInfo).port;
    return {
      app, services, port, ownerToken, serviceId, integrationKey,
      origin: `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}`,
      async get(url) {
        const res = await app.inject({ method: 'GET', url: `/api/v1${url}`, headers: { authorization: `Bearer ${ownerToken}` } });
        assert.equal(res.statusCode, 200, res.body);
        return res.json();
      },
      close: closeAll,
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}

/** Polls `probe` until it returns a value (not undefined), or fails with `what` after the deadline. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, deadlineMs: number, describeFailure: () => string = () => ''): Promise<T> {
  const until = Date.now() + deadlineMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() >= until) assert.fail(`timed out after ${deadlineMs / 1000} s waiting for ${what}${describeFailure() ? `\n${describeFailure()}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
