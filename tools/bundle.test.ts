/**
 * tools/bundle.mjs: the install-shaped tree, run from a directory with no node_modules around it:
 * the shebang and modes, the versions of the apps' package.json, help without a daemon, the
 * lazily loaded dump inside the one bmx7ctl file, and koffi with its native module from
 * usr/lib/bmx7d. The bundled daemon in a mesh: apps/bmx7d/src/bundle.netns.test.ts.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundle, bundleRevision } from './bundle.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const versionOf = (app: string) =>
  (JSON.parse(readFileSync(join(ROOT, 'apps', app, 'package.json'), 'utf8')) as { version: string }).version;

describe('bundle', () => {
  let out: string;
  let bin: string;
  let lib: string;
  const run = (file: string, args: string[]) =>
    spawnSync(join(bin, file), args, { encoding: 'utf8', timeout: 20_000, cwd: out });

  beforeAll(async () => {
    // under the system's temporary directory: no node_modules up the tree
    out = mkdtempSync(join(tmpdir(), 'bmx7-bundle-'));
    ({ bin, lib } = await bundle(out));
  }, 60_000);
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('writes usr/bin/bmx7d and usr/bin/bmx7ctl (executable, #!/usr/bin/node, strict) and koffi in usr/lib/bmx7d', () => {
    expect(bin).toBe(join(out, 'usr', 'bin'));
    expect(lib).toBe(join(out, 'usr', 'lib', 'bmx7d'));
    for (const f of ['bmx7d', 'bmx7ctl']) {
      const text = readFileSync(join(bin, f), 'utf8');
      expect(text.split('\n').slice(0, 2)).toEqual(['#!/usr/bin/node', '"use strict";']);
      expect(statSync(join(bin, f)).mode & 0o777).toBe(0o755);
      // nothing of the build machine: no checkout path, no package resolved at run time
      expect(text).not.toContain(ROOT);
      expect(text).not.toMatch(/require\(["']koffi["']\)|import\.meta/);
    }
    for (const f of ['koffi.cjs', 'koffi.node']) expect(statSync(join(lib, f)).isFile()).toBe(true);
  });

  it('--version prints the package.json versions; help works without a daemon', () => {
    expect(run('bmx7d', ['--version'])).toMatchObject({ status: 0, stdout: `bmx7d ${versionOf('bmx7d')}\n` });
    expect(run('bmx7ctl', ['--version'])).toMatchObject({
      status: 0,
      stdout: `bmx7ctl ${versionOf('bmx7ctl')}\n`,
    });
    const help = run('bmx7ctl', ['--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/^usage: bmx7ctl .*\n(.|\n)*show TABLE(.|\n)*other commands:\n {2}dump /);
    expect(run('bmx7ctl', ['help', 'dump']).stdout).toMatch(/usage: bmx7ctl dump FILE .*\[--verify\]/);
    const dhelp = run('bmx7d', ['--help']);
    expect(dhelp.status).toBe(0);
    expect(dhelp.stdout).toMatch(/tunBackend/);
    expect(bundleRevision()).toMatch(/^[0-9a-f]{7}$/);
  });

  it('bmx7ctl without a daemon: one line, exit 3', () => {
    const r = run('bmx7ctl', ['--runtime-dir', join(out, 'nowhere'), 'show', 'originators']);
    expect(r.status).toBe(3);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('bmx7ctl dump --verify runs the dissector and the verifier from inside the bundle', () => {
    const r = run('bmx7ctl', ['dump', '--verify', join(ROOT, 'fixtures', 'bmx7-ref', 'rsalink.pcap')]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/verify: description-signature verified=3 failed=0/);
  });

  it("koffi loads from usr/lib/bmx7d with this machine's native module", () => {
    const code = `const k = require(${JSON.stringify(join(lib, 'koffi.cjs'))});
      const getpid = k.load('libc.so.6').func('int getpid()');
      process.stdout.write(String(getpid() === process.pid));`;
    const r = spawnSync(process.execPath, ['-e', code], { encoding: 'utf8', cwd: out });
    expect(r.stdout, r.stderr).toBe('true');
  });
});
