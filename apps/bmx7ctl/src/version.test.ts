import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { version } from './version.js';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  version: string;
};
const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));

describe('bmx7ctl version', () => {
  it('is the package.json version, unbundled (the bundle inlines it: tools/bundle.test.ts)', () => {
    expect(version()).toBe(pkg.version);
  });

  it('--version prints `bmx7ctl <version>` and exits 0, without a daemon', () => {
    const r = spawnSync(
      process.execPath,
      ['--import', 'tsx', '--conditions=@bmx7/source', MAIN, '--version'],
      {
        encoding: 'utf8',
        timeout: 20_000,
      },
    );
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe(`bmx7ctl ${pkg.version}\n`);
  });
});
