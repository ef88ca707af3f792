#!/usr/bin/env node
// Runs benchmarks: `pnpm bench <name>...` runs bench/<name>/index.ts (all of them without a name).
// Each benchmark prints one JSON object per result on stdout. Benchmarks are never part of the test
// run; timings on shared machines are noisy, so compare ratios measured side by side in one run.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const all = readdirSync(here).filter((e) => {
  try {
    return statSync(join(here, e, 'index.ts')).isFile();
  } catch {
    return false;
  }
});
const names = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const chosen = names.length ? names : all;
let failed = 0;
for (const n of chosen) {
  if (!all.includes(n)) {
    console.error(`bench: no benchmark "${n}" (have: ${all.join(', ') || 'none'})`);
    process.exit(2);
  }
  const r = spawnSync(
    process.execPath,
    [
      // benchmarks that report heap per node collect garbage before they measure
      '--expose-gc',
      '--import',
      'tsx',
      '--conditions=@bmx7/source',
      join(here, n, 'index.ts'),
      ...process.argv.slice(2).filter((a) => a.startsWith('-')),
    ],
    { stdio: 'inherit', cwd: here },
  );
  if (r.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
