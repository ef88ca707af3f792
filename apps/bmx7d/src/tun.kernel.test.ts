/**
 * Plain gateway tunnels between bmx7d daemons on the kernel's ip6tnl, and kernel ↔ userspace twin
 * (docs/protocol.md §4.14). Runs in the VM (pnpm test:vm), where the kernel has ip6_tunnel;
 * elsewhere it is skipped with the reason.
 *
 *   n1 client [eth1] ── [eth1] n2 relay [eth2] ── [eth1] n3 gateway [up0] ── uplink (192.0.2.2, 2001:db8:1::2)
 *   tunBackend=userspace                              tunBackend=kernel
 *
 * The client's tunnel is the userspace twin, the gateway's devices are kernel ip6tnl: the two carry
 * the pings both ways. A kill -9 of the gateway leaves its kernel devices; the next start removes
 * them before it makes new ones.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createMesh, type DaemonSpec, type Mesh, type MeshNode } from '@bmx7/testbed';
import { describeKernel } from '@bmx7/testenv/env';
import { createNetnsBed, type NetnsBed, waitFor } from '@bmx7/testenv/netns';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { addUplink, bmx7dArgs, daemonLog, primaryOf, UPLINK } from './test/helpers.js';

const UP4 = UPLINK.v4;
const UP6 = UPLINK.v6;
/** The built daemon: under emulation, loading the sources through tsx takes too long. */
const DIST = fileURLToPath(new URL('../dist/main.js', import.meta.url));

const args: Record<string, string[]> = {
  n1: [
    'tunBackend=userspace',
    'tunDev=dflt /tun6Address=fdaa:1::1/64 /tun4Address=10.1.0.1/24',
    'tunOut=up6 /network=2001:db8:1::/64',
    'tunOut=up4 /network=192.0.2.0/24',
  ],
  n2: [],
  n3: [
    'tunBackend=kernel',
    'tunDev=dflt /tun6Address=fdaa:3::1/64 /tun4Address=10.3.0.1/24',
    'tunIn=up6 /network=2001:db8:1::/64 /bandwidth=100M',
    'tunIn=up4 /network=192.0.2.0/24 /bandwidth=100M',
    'tunOut=back6 /network=fdaa::/16 /minPrefixLen=0 /maxPrefixLen=128',
    'tunOut=back4 /network=10.0.0.0/8 /minPrefixLen=0 /maxPrefixLen=32',
  ],
};

const spec = (n: MeshNode): DaemonSpec => ({
  cmd: process.execPath,
  args: [DIST, ...bmx7dArgs(n, ['linkTimeout=10000', ...(args[n.name] ?? []).flatMap((a) => a.split(' '))])],
});

describeKernel('plain tunnels between daemons: kernel ip6tnl and the userspace twin', ['ip6tnl'], () => {
  let mesh: Mesh;
  let bed: NetnsBed;
  const log = (n: string) => daemonLog(mesh, n);
  const ping = (family: 4 | 6, to: string) =>
    mesh.exec('n1', 'ping', [`-${family}`, '-c', '2', '-i', '0.3', '-W', '2', to]);
  const x7 = (n: string) =>
    mesh
      .execOk(n, 'ip', ['-o', 'link', 'show'])
      .split('\n')
      .map((l) => /^\d+: ([^:@]+)/.exec(l)?.[1])
      .filter((d): d is string => d?.startsWith('X7') === true);

  beforeAll(async () => {
    if (!existsSync(DIST)) throw new Error(`build first: ${DIST} is missing`);
    mesh = createMesh({ kind: 'line', n: 3 }, { prefix: 'tk' });
    bed = createNetnsBed('tl');
    addUplink(mesh, bed, 'n3');
    // with ip6_tunnel loaded in every namespace, the kernel of the twin's namespace answers the
    // packets the twin takes with ICMPv6 errors (no kernel tunnel matches them): on a kernel without
    // the module, for which the twin is made, there are none
    mesh.execOk('n1', 'sh', ['-c', 'echo 100000000 > /proc/sys/net/ipv6/icmp/ratelimit']);
    mesh.startAll(spec);
    for (const n of ['n1', 'n2', 'n3'])
      await waitFor(`primary address of ${n}`, () => primaryOf(mesh, n), { timeoutMs: 60_000 });
  }, 120_000);
  afterAll(() => {
    bed?.cleanup();
    mesh?.cleanup();
  });

  it('the userspace client reaches the uplink through the kernel gateway, both families', async () => {
    try {
      await waitFor('ping through the tunnel', () => ping(6, UP6).status === 0 && ping(4, UP4).status === 0, {
        timeoutMs: 110_000,
        intervalMs: 2000,
      });
    } catch (e) {
      throw new Error(
        `${(e as Error).message}\n--- n1 ---\n${log('n1').slice(-2000)}\n--- n3 ---\n${log('n3').slice(-2000)}`,
      );
    }
    // the gateway's devices are kernel ip6tnl in mode any
    const dflt = mesh.execOk('n3', 'ip', ['-d', 'link', 'show', 'X7dflt']);
    expect(dflt).toMatch(/ip6tnl any remote/);
    expect(x7('n3').some((d) => d.startsWith('X7Out_'))).toBe(true);
  }, 120_000);

  it('after kill -9 the kernel devices stay; the next start removes them and tunnels again', async () => {
    const before = x7('n3');
    expect(before.length).toBeGreaterThanOrEqual(2);
    await mesh.stop('n3', 'SIGKILL');
    expect(x7('n3').sort()).toEqual(before.sort());
    mesh.start('n3', spec);
    await waitFor('the leftovers removed', () => /removing leftovers of the last run/.test(log('n3')), {
      timeoutMs: 60_000,
    });
    await waitFor(
      'ping through the tunnel again',
      () => ping(6, UP6).status === 0 && ping(4, UP4).status === 0,
      {
        timeoutMs: 110_000,
        intervalMs: 2000,
      },
    );
    await mesh.stop('n3', 'SIGTERM');
    expect(x7('n3')).toEqual([]);
  }, 240_000);
});
