/**
 * bmx7ctl against a reference bmx7 daemon (opt-in): set BMX7_REF_BIN to a reference `bmx7` binary
 * built outside this repository. Without it the suite is skipped and says why.
 *
 *   <bed>-ref (reference bmx7, control socket in a temporary directory) ──veth── <bed>-peer
 *
 * The daemon runs in a namespace of its own with the test key fixtures/bmx7-ref/keys/n1.der, from
 * its temporary directory (where the reference writes core files); bmx7ctl runs as a process from
 * its sources and reaches the socket by path.
 */
import { type ChildProcess, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeNetns, fixture } from '@bmx7/testenv/env';
import { createNetnsBed, type NetnsBed, waitFor } from '@bmx7/testenv/netns';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const REF = process.env.BMX7_REF_BIN;
const CTL_MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));

if (!REF) {
  describe('bmx7ctl against the reference bmx7', () => {
    it.skip('skipped: set BMX7_REF_BIN to a reference bmx7 binary built outside the repository', () => {});
  });
} else {
  describeNetns('bmx7ctl against the reference bmx7', () => {
    let bed: NetnsBed | undefined;
    let daemon: ChildProcess | undefined;
    let log = '';
    const dir = mkdtempSync(join(tmpdir(), 'bmx7ctl-ref-'));
    const run = join(dir, 'run');

    const ctl = (...args: string[]) =>
      spawnSync(process.execPath, ['--import', 'tsx', '--conditions=@bmx7/source', CTL_MAIN, ...args], {
        encoding: 'utf8',
        timeout: 20_000,
      });

    beforeAll(async () => {
      bed = createNetnsBed('rc');
      const ns = bed.ns('ref');
      const [dev] = bed.veth(ns, bed.ns('peer'));
      copyFileSync(fixture('keys/n1.der'), join(dir, 'rsa.der'));
      mkdirSync(run);
      // options in the reference's order classes (docs/protocol.md §5.2); debug=0 keeps it in the foreground
      const args = [
        `runtimeDir=${run}`,
        'debug=0',
        'nodeRsaKey=6',
        `/keyPath=${join(dir, 'rsa.der')}`,
        'hostname=ref-ctl',
        `descSqnPath=${join(dir, 'descSqn')}`,
        'syslog=0',
        `dev=${dev}`,
      ];
      daemon = bed.spawn(ns, 'sh', ['-c', 'cd "$0" && exec "$@"', dir, REF, ...args]);
      const keep = (c: Buffer) => {
        log = (log + c.toString()).slice(-4000);
      };
      daemon.stdout?.on('data', keep);
      daemon.stderr?.on('data', keep);
      await waitFor(
        'the reference control socket',
        () => {
          if (daemon?.exitCode !== null) throw new Error(`the reference exited: ${log}`);
          return existsSync(join(run, 'sock'));
        },
        { timeoutMs: 20_000 },
      );
    });

    afterAll(() => {
      bed?.cleanup();
      rmSync(dir, { recursive: true, force: true });
    });

    it('show=status and show=originators: the reference tables, found without --legacy', () => {
      const status = ctl(`runtimeDir=${run}`, '-c', 'show=status');
      expect(status.status, status.stderr + log).toBe(0);
      expect(status.stdout).toMatch(/^STATUS:\nshortId +name +nodeKey .*\n[0-9A-F]{8} ref-ctl RSA2048 21 /);
      const originators = ctl('--runtime-dir', run, 'show', 'originators');
      expect(originators.status, originators.stderr).toBe(0);
      expect(originators.stdout).toMatch(/^ORIGINATORS:\nshortId +name +as .*\n[0-9A-F]{8} ref-ctl /);
      expect(originators.stderr).toBe('');
    });

    it('-c changes apply at runtime, a refused one exits 1 with the reference reasons', () => {
      let r = ctl('--legacy', `runtimeDir=${run}`, '-c', 'ogmInterval=3000');
      expect(r.status, r.stderr).toBe(0);
      r = ctl(`runtimeDir=${run}`, '-c', 'parameters');
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/^ ogmInterval +3000 +\(6000\) *$/m);
      r = ctl('--runtime-dir', run, 'set', 'ogmInterval=-');
      expect(r.status, r.stderr).toBe(0);
      expect(ctl(`runtimeDir=${run}`, '-c', 'parameters').stdout).not.toMatch(/ogmInterval +3000/);
      r = ctl(`runtimeDir=${run}`, '-c', 'dev=-nosuch0');
      expect(r.status).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/^ERROR .*Interface does not exist/m);
    });

    it('what only bmx7d answers is a usage error (exit 2)', () => {
      const r = ctl('--json', '--runtime-dir', run, 'show', 'status');
      expect(r.status).toBe(2);
      expect(r.stderr).toBe('bmx7ctl: --json needs bmx7d: the reference daemon answers in text only\n');
    });
  });
}
