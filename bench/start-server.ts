import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Question, ServerReady } from './server.js';

export type BenchServer = ServerReady & {
  readonly pid: number;
  /** The server's SQLite file (removed by stop()). */
  readonly databaseFile: string;
  /** The server process's own CPU time so far (user + system), in microseconds. */
  cpuMicros(): Promise<number>;
  /** Rows in the incidents table (0 unless the server was seeded for routing or events). */
  incidentCount(): Promise<number>;
  /** SIGKILL, no clean shutdown, the SQLite file left in place (for reading what survived); stop() still removes it. */
  crash(): Promise<void>;
  stop(): Promise<void>;
};

export type ServerOptions = {
  nodeArgs?: readonly string[];
  /** Services to seed for the routing benchmark (none by default). */
  seedServices?: number;
  /** Where the SQLite file goes: a fresh folder under this one (the system temp folder by default). */
  dataRoot?: string;
  /** Seed the events benchmark's service and integration keys. */
  events?: boolean;
};

// Compiled by `npm run bench` first (tsconfig.bench.json): the server runs plain JavaScript, as `npm start` does.
const SERVER_SCRIPT = new URL('./.build/bench/server.js', import.meta.url);

/**
 * Starts bench/server.ts in its own process over a fresh SQLite file (in the system temp folder unless told).
 * The child is killed on stop(), on the parent's exit, and exits by itself if the IPC link drops.
 */
export async function startServer(options: ServerOptions = {}): Promise<BenchServer> {
  const dataDir = mkdtempSync(join(options.dataRoot ?? tmpdir(), 'latchkey-bench-'));
  const databaseFile = join(dataDir, 'latchkey.db');
  const child = fork(SERVER_SCRIPT, [], {
    execArgv: [...(options.nodeArgs ?? [])],
    env: {
      ...process.env,
      LATCHKEY_DATABASE_URL: `sqlite:${databaseFile}`,
      BENCH_SEED_SERVICES: String(options.seedServices ?? 0),
      BENCH_EVENTS: options.events ? '1' : '0',
    },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const removeData = () => rmSync(dataDir, { recursive: true, force: true });
  const killOnExit = () => {
    child.kill('SIGKILL');
    removeData();
  };
  process.once('exit', killOnExit);

  const stop = async (): Promise<void> => {
    await stopChild(child);
    process.removeListener('exit', killOnExit);
    removeData();
  };

  try {
    const ready = await waitForReady(child);
    return {
      ...ready,
      pid: child.pid!,
      databaseFile,
      cpuMicros: async () => {
        const usage = await ask<NodeJS.CpuUsage>(child, 'cpu-usage');
        return usage.user + usage.system;
      },
      incidentCount: () => ask<number>(child, 'incident-count'),
      crash: () => killChild(child),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

function waitForReady(child: ChildProcess): Promise<ServerReady> {
  return new Promise((resolve, reject) => {
    child.once('message', (message) => resolve(message as ServerReady));
    child.once('error', reject);
    child.once('exit', (code, signal) => reject(new Error(`bench server exited before it was ready (code ${code}, signal ${signal})`)));
  });
}

/** Questions are asked one at a time, so the next message is the answer. */
function ask<Answer>(child: ChildProcess, question: Question): Promise<Answer> {
  return new Promise((resolve) => {
    child.once('message', (answer) => resolve(answer as Answer));
    child.send(question);
  });
}

function killChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

/** SIGTERM lets the server close cleanly (and write a --cpu-prof profile); SIGKILL if it hangs. */
function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const force = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
