import { spawn, spawnSync } from 'node:child_process';

/** Sync system calls a process made, as `strace -c` counted them. */
export type SyncCalls = { readonly fsync: number; readonly fdatasync: number; readonly total: number };

export function straceAvailable(): boolean {
  return spawnSync('strace', ['-V'], { stdio: 'ignore' }).status === 0;
}

const ATTACH_TIMEOUT_MS = 5000;

/**
 * Counts the fsync and fdatasync calls of process `pid` (all its threads) while `during` runs:
 * `strace -c -f -p` attaches first, and SIGINT makes it detach and print its summary. Tracing
 * stops the process at every system call, so what `during` measures is slowed: keep it apart
 * from the timed rounds.
 */
export async function countSyncCalls<T>(pid: number, during: () => Promise<T>): Promise<{ result: T; calls: SyncCalls }> {
  const tracer = spawn('strace', ['-c', '-f', '-e', 'trace=fsync,fdatasync', '-p', String(pid)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let output = '';
  tracer.stderr.setEncoding('utf8');
  const exited = new Promise<number | null>((resolve) => tracer.once('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`strace did not attach to ${pid} within ${ATTACH_TIMEOUT_MS} ms: ${output.trim()}`)), ATTACH_TIMEOUT_MS);
    tracer.stderr.on('data', (chunk: string) => {
      output += chunk;
      if (/attached/.test(output)) {
        clearTimeout(timer);
        // strace reports each thread as it attaches to it: give it a moment to reach them all.
        setTimeout(resolve, 200);
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`strace exited (code ${code}) before attaching: ${output.trim()}`));
    });
  });
  let result: T;
  try {
    result = await during();
  } finally {
    tracer.kill('SIGINT');
    await exited;
  }
  return { result, calls: parseSummary(output) };
}

/** The `calls` column of strace's -c table, for the two sync calls (absent from it: none made). */
function parseSummary(output: string): SyncCalls {
  const calls = (name: string) => {
    const row = new RegExp(String.raw`^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?${name}\s*$`, 'm').exec(output);
    return row ? Number(row[1]) : 0;
  };
  if (!/% time/.test(output)) throw new Error(`strace printed no summary: ${output.trim()}`);
  const fsync = calls('fsync');
  const fdatasync = calls('fdatasync');
  return { fsync, fdatasync, total: fsync + fdatasync };
}
