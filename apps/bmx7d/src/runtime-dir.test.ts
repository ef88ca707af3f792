import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DaemonError, lockRuntimeDir, makeDirs } from './runtime-dir.js';
import { daemonArgv } from './test/helpers.js';

describe('the runtime directory', () => {
  const dirs: string[] = [];
  const tmp = () => {
    const d = mkdtempSync(join(tmpdir(), 'bmx7d-rd-'));
    dirs.push(d);
    return d;
  };
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('creates missing parents and removes what it created on release, unless something is left in it', () => {
    const base = tmp();
    const rd = lockRuntimeDir(join(base, 'a', 'b', 'run'));
    expect(readdirSync(rd.dir)).toEqual(['pid']);
    rd.release();
    expect(readdirSync(base)).toEqual([]);
    // a journal left behind (a crash) keeps its directory, and only its directory
    const again = lockRuntimeDir(join(base, 'a', 'run'));
    writeFileSync(again.journalPath, '');
    again.release();
    expect(readdirSync(join(base, 'a', 'run'))).toEqual(['journal']);
    // a directory that was there before is never removed
    mkdirSync(join(base, 'mine'));
    lockRuntimeDir(join(base, 'mine')).release();
    expect(existsSync(join(base, 'mine'))).toBe(true);
  });

  it("reports the error of the directory it could not make, not Node's ENOENT", () => {
    // what a read-only file system answers to mkdir (Node's recursive mkdir turns it into ENOENT)
    const rofs = (root: string) => (path: string) => {
      if (existsSync(path)) throw Object.assign(new Error(`EEXIST: ${path}`), { code: 'EEXIST' });
      if (!existsSync(join(path, '..')))
        throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
      if (path.startsWith(root)) throw Object.assign(new Error(`EROFS: ${path}`), { code: 'EROFS' });
      mkdirSync(path);
    };
    const base = tmp();
    expect(() => makeDirs(join(base, 'x', 'y'), 0o700, rofs(base) as never)).toThrow(
      expect.objectContaining({ code: 'EROFS' }),
    );
    expect(makeDirs(join(base, 'p', 'q'), 0o700)).toEqual([join(base, 'p'), join(base, 'p', 'q')]);
    expect(makeDirs(join(base, 'p', 'q'), 0o700)).toEqual([]);
    writeFileSync(join(base, 'file'), '');
    expect(() => lockRuntimeDir(join(base, 'file', 'run'))).toThrow(
      /runtimeDir: cannot create .* \(ENOTDIR\)/,
    );
  });

  it('a second daemon on the same directory is refused and leaves it alone', () => {
    const base = tmp();
    const rd = lockRuntimeDir(join(base, 'run'));
    writeFileSync(join(rd.dir, 'pid'), `${process.ppid}\n`);
    expect(() => lockRuntimeDir(join(base, 'run'))).toThrow(DaemonError);
    expect(readdirSync(rd.dir)).toEqual(['pid']);
    rd.release();
  });

  it('a key error at start exits 1 with one line and leaves no runtime directory behind', () => {
    const base = tmp();
    writeFileSync(join(base, 'rsa.der'), 'not a key');
    const r = spawnSync(
      process.execPath,
      daemonArgv([`runtimeDir=${base}/run`, 'nodeRsaKey=6', `/keyPath=${base}/rsa.der`, 'dev=eth1']),
      { encoding: 'utf8', timeout: 20_000 },
    );
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^bmx7d: nodeRsaKey \/keyPath=/);
    expect(readdirSync(base)).toEqual(['rsa.der']);
  });
});
