/**
 * Tunnel interop with the reference C bmx7 (opt-in: BMX7_REF_BIN, with its plugins where
 * BMX7_LIB_PATH says, e.g. `BMX7_LIB_PATH=<dir of bmx7_tun.so>`). The reference needs the kernel's
 * ip6_tunnel for its own tunnels (docs/protocol.md §3), so this runs in the VM (pnpm test:vm).
 *
 *   ref client:  n1 (reference, tunOut) ── n2 (bmx7d) ── n3 (bmx7d gateway, tunIn) ── uplink
 *   ref gateway: n1 (bmx7d, tunOut)     ── n2 (bmx7d) ── n3 (reference gateway)     ── uplink
 *
 * Each client selects the other implementation's gateway (its `show=tunnels`), and pings the uplink
 * host through the tunnel, IPv6 and IPv4.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createMesh, type DaemonSpec, type Mesh, type MeshNode } from '@bmx7/testbed';
import { describeKernel } from '@bmx7/testenv/env';
import { createNetnsBed, type NetnsBed, waitFor } from '@bmx7/testenv/netns';
import { afterEach, describe, expect, it } from 'vitest';
import { addUplink, bmx7dArgs, ctlArgv, daemonLog, primaryOf, UPLINK } from './test/helpers.js';
import { REF, refShow, refSpec } from './test/reference.js';

const UP4 = UPLINK.v4;
const UP6 = UPLINK.v6;
const DIST = fileURLToPath(new URL('../dist/main.js', import.meta.url));

const client = (n: number) => [
  `tunDev=dflt /tun6Address=fdaa:${n}::1/64 /tun4Address=10.${n}.0.1/24`,
  'tunOut=up6 /network=2001:db8:1::/64',
  'tunOut=up4 /network=192.0.2.0/24',
];
const gateway = (n: number) => [
  `tunDev=dflt /tun6Address=fdaa:${n}::1/64 /tun4Address=10.${n}.0.1/24`,
  'tunIn=up6 /network=2001:db8:1::/64 /bandwidth=100000000',
  'tunIn=up4 /network=192.0.2.0/24 /bandwidth=100000000',
  'tunOut=back6 /network=fdaa::/16 /minPrefixLen=0 /maxPrefixLen=128',
  'tunOut=back4 /network=10.0.0.0/8 /minPrefixLen=0 /maxPrefixLen=32',
];
const words = (opts: string[]) => opts.flatMap((o) => o.split(' '));

const bmxSpec = (n: MeshNode, tun: string[]): DaemonSpec => ({
  cmd: process.execPath,
  args: [DIST, ...bmx7dArgs(n, ['tunBackend=kernel', ...words(tun)])],
});

if (!REF) {
  describe('tunnel interop with the reference bmx7', () => {
    it.skip('set BMX7_REF_BIN (and BMX7_LIB_PATH) to a reference bmx7 built outside the repository', () => {});
  });
} else {
  describeKernel('tunnel interop with the reference bmx7', ['ip6tnl'], () => {
    let mesh: Mesh | undefined;
    let bed: NetnsBed | undefined;
    afterEach(() => {
      bed?.cleanup();
      mesh?.cleanup();
      mesh = undefined;
      bed = undefined;
    });

    /** A line n1 — n2 — n3 with an uplink behind n3; `ref` names the reference node. */
    async function line(ref: 'n1' | 'n3'): Promise<Mesh> {
      if (!existsSync(DIST)) throw new Error(`build first: ${DIST} is missing`);
      const m = createMesh({ kind: 'line', n: 3 }, { prefix: 'ti' });
      mesh = m;
      bed = createNetnsBed('tj');
      addUplink(m, bed, 'n3');
      const tun: Record<string, string[]> = { n1: client(1), n2: [], n3: gateway(3) };
      m.startAll((n) =>
        n.name === ref ? refSpec(n, words(tun[n.name]!), ['bmx7_tun.so']) : bmxSpec(n, tun[n.name]!),
      );
      for (const n of ['n1', 'n2', 'n3'])
        await waitFor(`primary address of ${n}`, () => primaryOf(m, n), { timeoutMs: 60_000 });
      return m;
    }

    const log = (m: Mesh, n: string) => daemonLog(m, n);
    const pings = (m: Mesh) =>
      m.exec('n1', 'ping', ['-6', '-c', '1', '-W', '2', UP6]).status === 0 &&
      m.exec('n1', 'ping', ['-4', '-c', '1', '-W', '2', UP4]).status === 0;
    const throughTunnel = async (m: Mesh) => {
      try {
        await waitFor('pings through the tunnel', () => pings(m), { timeoutMs: 150_000, intervalMs: 2000 });
      } catch (e) {
        throw new Error(`${(e as Error).message}\n--- n1 ---\n${log(m, 'n1')}\n--- n3 ---\n${log(m, 'n3')}`);
      }
    };

    it('a reference client selects a bmx7d gateway and reaches the uplink through it', async () => {
      const m = await line('n1');
      await throughTunnel(m);
      const tunnels = refShow(m, 'n1', 'tunnels');
      expect(tunnels).toMatch(/up6 .*bmx7d-n3|up6 .*n3/);
      expect(m.execOk('n1', 'ip', ['-6', 'route', 'get', UP6])).toMatch(/dev X7/);
    }, 200_000);

    it('a bmx7d client selects a reference gateway and reaches the uplink through it', async () => {
      const m = await line('n3');
      await throughTunnel(m);
      const out = spawnSync(
        process.execPath,
        ctlArgv(['--runtime-dir', join(m.node('n1').dir, 'run'), 'show', 'tunnels', '--json']),
        { encoding: 'utf8', timeout: 30_000 },
      ).stdout;
      const rows = JSON.parse(out).rows as Array<Record<string, unknown>>;
      const used = rows.filter((r) => String(r.tunName ?? '').startsWith('X7Out_'));
      expect(used.map((r) => [r.tunOut, r.remoteName]).sort()).toEqual([
        ['up4', 'ref-n3'],
        ['up6', 'ref-n3'],
      ]);
    }, 200_000);
  });
}
