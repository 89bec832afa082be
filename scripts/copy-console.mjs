// Copies the web console's static files (src/console/) beside the compiled server in the given
// output folder (dist/, bench/.build/src/), where src/http/console.ts looks for them: ../console/.
import { cpSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const outDir = process.argv[2];
if (!outDir) throw new Error('usage: node scripts/copy-console.mjs <output folder of the compiled src/>');
const target = join(outDir, 'console');
rmSync(target, { recursive: true, force: true });
cpSync(new URL('../src/console/', import.meta.url), target, { recursive: true });
