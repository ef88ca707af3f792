#!/usr/bin/env node
// Writes the manual pages and the bash completion, generated from the built code (run `pnpm build`
// first):
//
//   node tools/man.mjs DIR    → DIR/bmx7d.8, DIR/bmx7ctl.8, DIR/bmx7ctl.bash-completion
//
// bmx7d(8) comes from bmx7d's option table (with its built-in plugins); bmx7ctl(8) and the
// completion from bmx7ctl's commands and, for the options and tables of the daemon it talks to,
// bmx7d's. The pages are man(7) source, uncompressed. Their date is SOURCE_DATE_EPOCH's when set
// (reproducible package builds), else the date of the checkout's last commit, else today.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(fileURLToPath(new URL('.', import.meta.url)), '..');

function pageDate() {
  // biome-ignore lint/suspicious/noUndeclaredEnvVars: set by package builds (dpkg), not a turbo task's input
  const epoch = process.env.SOURCE_DATE_EPOCH;
  if (epoch !== undefined && /^\d+$/.test(epoch))
    return new Date(Number(epoch) * 1000).toISOString().slice(0, 10);
  try {
    const d = execFileSync('git', ['-C', root, 'log', '-1', '--format=%cs'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
    if (/^\d{4}-\d{2}-\d{2}$/.test(d)) return d;
  } catch {
    // not a git checkout
  }
  return new Date().toISOString().slice(0, 10);
}

const version = (app) => JSON.parse(readFileSync(join(root, 'apps', app, 'package.json'), 'utf8')).version;

async function main(argv) {
  const dir = argv[0];
  if (dir === undefined || argv.length > 1 || dir.startsWith('-')) {
    process.stderr.write('usage: node tools/man.mjs DIR\n');
    return 2;
  }
  const dist = (app, file) => import(join(root, 'apps', app, 'dist', file));
  let d;
  let ctl;
  try {
    d = await dist('bmx7d', 'manpage.js');
    ctl = await dist('bmx7ctl', 'manpage.js');
  } catch (e) {
    process.stderr.write(`man: ${e.message}\n(run pnpm build first)\n`);
    return 1;
  }
  const date = pageDate();
  const ctlInput = { version: version('bmx7ctl'), date, ...d.daemonControlFacts() };
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'bmx7d.8'), d.bmx7dManPage({ version: version('bmx7d'), date }));
  writeFileSync(join(dir, 'bmx7ctl.8'), ctl.bmx7ctlManPage(ctlInput));
  writeFileSync(join(dir, 'bmx7ctl.bash-completion'), ctl.bmx7ctlCompletion(ctlInput));
  return 0;
}

process.exitCode = await main(process.argv.slice(2));
