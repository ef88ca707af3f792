import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeNetns } from '@bmx7/testenv/env';
import { expect, it, onTestFinished } from 'vitest';
import { MAIN } from './test/helpers.js';

// A read-only file system: a tmpfs remounted read-only inside a private mount namespace
// (`unshare -m`), so nothing outside the test's own process sees the mount.
describeNetns('bmx7d on a read-only runtime directory', () => {
  it('names the real error (EROFS), exits 1 and changes nothing', () => {
    const base = mkdtempSync(join(tmpdir(), 'bmx7d-ro-'));
    onTestFinished(() => rmSync(base, { recursive: true, force: true }));
    const daemon = [
      process.execPath,
      '--import',
      'tsx',
      '--conditions=@bmx7/source',
      MAIN,
      `runtimeDir=${base}/ro/bmx7d/run`,
      'nodeRsaKey=6',
      `/keyPath=${base}/rsa.der`,
      'dev=lo',
      `descSqnPath=${base}/descSqn`,
    ];
    const quote = (w: string) => `'${w.replaceAll("'", "'\\''")}'`;
    const script = [
      `mkdir ${quote(`${base}/ro`)}`,
      `mount -t tmpfs -o size=1m bmx7d-ro ${quote(`${base}/ro`)}`,
      `mount -o remount,ro ${quote(`${base}/ro`)}`,
      `exec ${daemon.map(quote).join(' ')}`,
    ].join(' && ');
    const r = spawnSync('unshare', ['-m', '--propagation', 'private', 'sh', '-c', script], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(r.status, r.stderr).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^bmx7d: runtimeDir: cannot create .*\/ro\/bmx7d\/run \(EROFS\)$/m);
    // nothing else was created: no key, no descSqn (the mount itself died with its namespace)
    expect(readdirSync(base)).toEqual(['ro']);
  });
});
