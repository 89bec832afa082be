import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { FastifyInstance } from 'fastify';
import { loadConfig } from '../../src/config/index.js';
import { buildApp } from '../../src/http/app.js';
import { createServices, type ServiceOptions, type Services } from '../../src/services.js';

const run = promisify(execFile);

export type CliResult = { code: number; stdout: string; stderr: string };

/**
 * The operator CLI as a separate process over an SQLite file of its own, as an operator runs it
 * beside a server; `inspect` and `serve` open the same file as the server would.
 */
export function cliHarness(prefix = 'latchkey-cli-') {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const env = { ...process.env, LATCHKEY_DATABASE_URL: `sqlite:${join(dir, 'latchkey.db')}` };

  /** Runs `latchkey …args` with `input` on its standard input. */
  async function cliWithStdin(input: string, ...args: string[]): Promise<CliResult> {
    const running = run(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { env });
    running.child.stdin!.end(input);
    try {
      const { stdout, stderr } = await running;
      return { code: 0, stdout, stderr };
    } catch (err) {
      const e = err as { code: number; stdout: string; stderr: string };
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
  }

  /** Runs `latchkey …args`, its standard input closed: nothing to read there. */
  const cli = (...args: string[]): Promise<CliResult> => cliWithStdin('', ...args);

  /** Reads (or prepares) the database the CLI writes, as the server would. */
  async function inspect<T>(fn: (s: Services) => Promise<T>): Promise<T> {
    const services = await createServices(loadConfig(env));
    try {
      return await fn(services);
    } finally {
      await services.close();
    }
  }

  /** A server over the same database, in this process: it caches keys and hears of the CLI's changes. */
  async function serve(options: ServiceOptions = {}): Promise<{ app: FastifyInstance; services: Services; close(): Promise<void> }> {
    const services = await createServices(loadConfig(env), options);
    const app = await buildApp(services);
    return {
      app,
      services,
      async close() {
        await app.close();
        await services.close();
      },
    };
  }

  return { dir, env, cli, cliWithStdin, inspect, serve, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
