/**
 * The bundled daemon (tools/bundle.mjs) in a mesh: `node tools/bundle.mjs --out DIR` into a
 * temporary directory, then the two daemons run as DIR/usr/bin/bmx7d itself (its `#!/usr/bin/node`
 * line, no node_modules around it) with koffi from DIR/usr/lib/bmx7d: netlink (a worker thread),
 * key generation, the control socket, and a plain gateway tunnel on the userspace data plane (a
 * TUN device and raw sockets through koffi, in two more worker threads).
 *
 *   n1 client [eth1] ──veth── [eth1] n2 gateway [up0] ── uplink (192.0.2.2, 2001:db8:1::2)
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createMesh, type Mesh } from '@bmx7/testbed';
import { describeNetns } from '@bmx7/testenv/env';
import { createNetnsBed, type NetnsBed, waitFor } from '@bmx7/testenv/netns';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { addUplink, bmx7dArgs, daemonLog, primaryOf, UPLINK } from './test/helpers.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const VERSION = (
  JSON.parse(readFileSync(join(ROOT, 'apps', 'bmx7d', 'package.json'), 'utf8')) as { version: string }
).version;

const args: Record<string, string[]> = {
  n1: [
    'tunDev=dflt /tun6Address=fdaa:1::1/64 /tun4Address=10.1.0.1/24',
    'tunOut=up6 /network=2001:db8:1::/64',
    'tunOut=up4 /network=192.0.2.0/24',
  ],
  n2: [
    'tunDev=dflt /tun6Address=fdaa:2::1/64 /tun4Address=10.2.0.1/24',
    'tunIn=up6 /network=2001:db8:1::/64 /bandwidth=100M',
    'tunIn=up4 /network=192.0.2.0/24 /bandwidth=100M',
    'tunOut=back6 /network=fdaa::/16 /minPrefixLen=0 /maxPrefixLen=128',
    'tunOut=back4 /network=10.0.0.0/8 /minPrefixLen=0 /maxPrefixLen=32',
  ],
};

describeNetns('the bundled bmx7d and bmx7ctl', () => {
  let out: string;
  let mesh: Mesh;
  let bed: NetnsBed;
  const ip: Record<string, string> = {};
  // the checkout's HEAD before and after bundling (a commit may land in between)
  const heads: string[] = [];
  const head = () => {
    const git = spawnSync('git', ['rev-parse', '--short=7', 'HEAD'], { cwd: ROOT, encoding: 'utf8' });
    heads.push(git.status === 0 ? git.stdout.trim() : '0000000');
  };
  const ctl = (node: string, ...a: string[]) =>
    spawnSync(join(out, 'usr', 'bin', 'bmx7ctl'), ['--runtime-dir', join(mesh.node(node).dir, 'run'), ...a], {
      encoding: 'utf8',
      timeout: 20_000,
    });
  const logs = () => ['n1', 'n2'].map((n) => `--- ${n} ---\n${daemonLog(mesh, n, 2500)}`).join('\n');

  beforeAll(async () => {
    out = mkdtempSync(join(tmpdir(), 'bmx7-bundle-'));
    head();
    const b = spawnSync(process.execPath, [join(ROOT, 'tools', 'bundle.mjs'), '--out', out], {
      encoding: 'utf8',
      timeout: 120_000,
    });
    head();
    if (b.status !== 0) throw new Error(`bundle failed: ${b.stderr}`);
    mesh = createMesh({ kind: 'line', n: 2 }, { prefix: 'bn' });
    bed = createNetnsBed('bo');
    addUplink(mesh, bed, 'n2');
    mesh.startAll((n) => ({
      cmd: join(out, 'usr', 'bin', 'bmx7d'),
      args: bmx7dArgs(n, ['tunBackend=userspace', ...(args[n.name] ?? []).flatMap((a) => a.split(' '))]),
      // from the tree's own directory, nothing of the checkout in reach
      env: { NODE_PATH: '' },
    }));
    for (const n of ['n1', 'n2'])
      ip[n] = await waitFor(`primary address of ${n}`, () => primaryOf(mesh, n), { timeoutMs: 30_000 });
  }, 150_000);
  afterAll(() => {
    bed?.cleanup();
    mesh?.cleanup();
    if (out) rmSync(out, { recursive: true, force: true });
  });

  it('the two daemons converge: the bundled bmx7ctl lists both originators, routed', async () => {
    try {
      await waitFor(
        'each node routes to the other',
        () =>
          [
            ['n1', 'n2'],
            ['n2', 'n1'],
          ].every(([n, other]) => {
            const r = ctl(n!, '--json', 'show', 'originators');
            if (r.status !== 0) return false;
            const rows = (JSON.parse(r.stdout) as { rows: { name: string; dev: string }[] }).rows;
            return rows.some((x) => x.name === n) && rows.some((x) => x.name === other && x.dev === 'eth1');
          }),
        { timeoutMs: 40_000, intervalMs: 500 },
      );
    } catch (e) {
      throw new Error(`${(e as Error).message}\n${logs()}`);
    }
    const text = ctl('n1', 'show', 'originators');
    expect(text.status).toBe(0);
    expect(text.stdout).toMatch(/^ORIGINATORS:\n/);
    expect(text.stdout).toMatch(new RegExp(` ${ip.n2} +eth1 `));
    // the version and revision inlined at bundle time
    const status = JSON.parse(ctl('n1', '--json', 'show', 'status').stdout) as {
      rows: Record<string, unknown>[];
    };
    expect(heads).toContain(status.rows[0]?.revision);
    expect(ctl('n1', 'version').stdout).toContain(`bmx7d-${VERSION}`);
  });

  it('koffi and its native module come from usr/lib/bmx7d; the client pings the uplink through a TUN tunnel', async () => {
    const pid = mesh
      .exec('n1', 'ip', ['netns', 'pids', mesh.node('n1').ns])
      .stdout.trim()
      .split(/\s+/);
    const maps = pid.map((p) => {
      try {
        return readFileSync(`/proc/${p}/maps`, 'utf8');
      } catch {
        return '';
      }
    });
    expect(maps.some((m) => m.includes(join(out, 'usr', 'lib', 'bmx7d', 'koffi.node')))).toBe(true);
    expect(maps.some((m) => m.includes('node_modules'))).toBe(false);
    const ping = (family: 4 | 6, to: string) =>
      mesh.exec('n1', 'ping', [`-${family}`, '-c', '2', '-i', '0.2', '-W', '1', to]);
    try {
      await waitFor(
        'ping through the tunnel',
        () => ping(6, UPLINK.v6).status === 0 && ping(4, UPLINK.v4).status === 0,
        {
          timeoutMs: 60_000,
          intervalMs: 1000,
        },
      );
    } catch (e) {
      throw new Error(`${(e as Error).message}\n${logs()}`);
    }
    expect(/ dev (\S+)/.exec(mesh.execOk('n1', 'ip', ['route', 'get', UPLINK.v6]))?.[1]).toMatch(/^X7Out_/);
    const tunnels = ctl('n1', '--json', 'show', 'tunnels');
    expect(tunnels.status, tunnels.stderr).toBe(0);
  });

  it('stops cleanly on SIGTERM', async () => {
    for (const n of ['n1', 'n2']) expect(await mesh.stop(n)).toBe(0);
  });
});
