import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export type InstructionCount = {
  readonly requests: number;
  /** Instructions per request (client included: the same for every route). */
  readonly perRequest: { readonly baseline: number; readonly identity: number; readonly limited: number };
  readonly ratio: { readonly identity: number; readonly limited: number };
};

// Compiled by `npm run bench` first, as the servers are.
const CHILD = fileURLToPath(new URL('./.build/bench/instructions-child.js', import.meta.url));
const ROUTES = ['baseline', 'identity', 'limited'] as const;

export function valgrindAvailable(): boolean {
  return spawnSync('valgrind', ['--version'], { stdio: 'ignore' }).status === 0;
}

/**
 * The identity comparison again, in instructions rather than seconds: valgrind's callgrind counts
 * what the CPU executes, whatever else the machine is doing, so the figure repeats where req/s on a
 * shared virtual machine does not. Each route runs twice (0 and `requests` requests after the same
 * warm-up); the difference divided by `requests` is one request's cost. All six run at once.
 */
export async function countInstructions(requests: number): Promise<InstructionCount> {
  const runs = ROUTES.flatMap((route) => [0, requests].map(async (count) => ({ route, count, instructions: await underCallgrind(route, count) })));
  const done = await Promise.all(runs);
  const per = (route: (typeof ROUTES)[number]) => {
    const of = (count: number) => done.find((r) => r.route === route && r.count === count)!.instructions;
    return (of(requests) - of(0)) / requests;
  };
  const perRequest = { baseline: per('baseline'), identity: per('identity'), limited: per('limited') };
  return { requests, perRequest, ratio: { identity: perRequest.baseline / perRequest.identity, limited: perRequest.baseline / perRequest.limited } };
}

function underCallgrind(route: string, count: number): Promise<number> {
  // V8 writes machine code into its heap: valgrind must watch all of it for changes. --predictable
  // keeps V8's own work from depending on timing (no concurrent compiler or collector threads, fixed
  // seeds). With the child's single connection and no timers, two runs of the same child started
  // together agreed within about 2M instructions in 10G (bench/README.md says what still varies).
  const args = ['--tool=callgrind', '--smc-check=all-non-file', '--callgrind-out-file=/dev/null', process.execPath, '--predictable', CHILD, route, String(count)];
  return new Promise((resolve, reject) => {
    const child = spawn('valgrind', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('exit', (code) => {
      const collected = /Collected : (\d+)/.exec(stderr);
      if (code === 0 && collected) resolve(Number(collected[1]));
      else reject(new Error(`callgrind run (${route}, ${count}) failed with code ${code}:\n${stderr.slice(-2000)}`));
    });
  });
}

export function printInstructions(c: InstructionCount): void {
  const k = (n: number) => `${(n / 1000).toFixed(1)}k`;
  console.log(`\ninstructions per request (callgrind, ${c.requests} requests after a 4,000-request warm-up, one at a time, client and server in one process):`);
  console.log(`  baseline ${k(c.perRequest.baseline)}, identity ${k(c.perRequest.identity)}, limited ${k(c.perRequest.limited)}`);
  console.log(`  ratio baseline/identity ${c.ratio.identity.toFixed(3)}, baseline/limited ${c.ratio.limited.toFixed(3)} (the req/s ratio's target is ≥ 0.90)`);
}
