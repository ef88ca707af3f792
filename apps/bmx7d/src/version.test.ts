import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PACKAGE_DIR, readRevision } from './revision.js';
import { daemonArgv } from './test/helpers.js';
import { daemonRevision, packageVersion, VERSION } from './version.js';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

describe('bmx7d version', () => {
  it('is the package.json version; the revision is revision.ts’s (unbundled)', () => {
    expect(VERSION).toBe(pkg.version);
    expect(daemonRevision()).toBe(readRevision(PACKAGE_DIR));
  });

  it('packageVersion names the file it cannot use', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bmx7d-version-'));
    try {
      writeFileSync(join(dir, 'package.json'), '{"name":"x"}');
      expect(() => packageVersion(dir)).toThrow(`no version in ${join(dir, 'package.json')}`);
      writeFileSync(join(dir, 'package.json'), '{"version":"1.2.3"}');
      expect(packageVersion(dir)).toBe('1.2.3');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('--version prints `bmx7d <version>` and exits 0 before reading any other option', () => {
    const r = spawnSync(process.execPath, daemonArgv(['bogusOption=1', '--version']), {
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe(`bmx7d ${pkg.version}\n`);
  });
});
