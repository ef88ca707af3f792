/**
 * Plain gateway tunnels with real daemons (docs/protocol.md §4.14), on the data plane `tunBackend`
 * picks (here, without ip6_tunnel: the userspace twin):
 *
 *                                         ┌ n3 gateway [up0] ── uplink A (192.0.2.2, 2001:db8:1::2)
 *   n1 client [eth1] ── [eth1] n2 relay ──┤
 *                                         └ n4 gateway [up0] ── uplink B (the same addresses)
 *
 * The client pings both uplink hosts through its tunnel; a capture on the client's link shows only
 * IPv6 of next header 4 or 41 between the tunnel ends for that traffic; stopping the selected
 * gateway moves the traffic to the other one (the time it took is printed). The gateways route
 * replies back through tunnels of their own (tunOut for the clients' tunnel networks).
 */
import { join } from 'node:path';
import { createMesh, type Mesh } from '@bmx7/testbed';
import { describeNetns } from '@bmx7/testenv/env';
import { createNetnsBed, type NetnsBed, waitFor } from '@bmx7/testenv/netns';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { addUplink, bmx7dSpec, ctlArgv, daemonLog, primaryOf, UPLINK } from './test/helpers.js';

const UP4 = UPLINK.v4;
const UP6 = UPLINK.v6;

const gatewayArgs = (n: number) => [
  `tunDev=dflt /tun6Address=fdaa:${n}::1/64 /tun4Address=10.${n}.0.1/24`,
  'tunIn=up6 /network=2001:db8:1::/64 /bandwidth=100M',
  'tunIn=up4 /network=192.0.2.0/24 /bandwidth=100M',
  // the way back: the clients' tunnel networks, through tunnels to them
  'tunOut=back6 /network=fdaa::/16 /minPrefixLen=0 /maxPrefixLen=128',
  'tunOut=back4 /network=10.0.0.0/8 /minPrefixLen=0 /maxPrefixLen=32',
];
const args: Record<string, string[]> = {
  n1: [
    'tunDev=dflt /tun6Address=fdaa:1::1/64 /tun4Address=10.1.0.1/24',
    'tunOut=up6 /network=2001:db8:1::/64',
    'tunOut=up4 /network=192.0.2.0/24',
  ],
  n2: [],
  n3: gatewayArgs(3),
  n4: gatewayArgs(4),
};

describeNetns('plain gateway tunnels between bmx7d nodes', () => {
  let mesh: Mesh;
  let bed: NetnsBed;
  const log = (n: string) => daemonLog(mesh, n, 3000);
  const ping = (family: 4 | 6, to: string) =>
    mesh.exec('n1', 'ping', [`-${family}`, '-c', '2', '-i', '0.2', '-W', '1', to]);
  const deviceOf = (n: string, to: string) =>
    / dev (\S+)/.exec(mesh.execOk(n, 'ip', ['route', 'get', to]))?.[1];

  beforeAll(async () => {
    mesh = createMesh(
      {
        kind: 'edges',
        edges: [
          [1, 2],
          [2, 3],
          [2, 4],
        ],
      },
      { prefix: 'tu' },
    );
    bed = createNetnsBed('tv');
    // an uplink behind each gateway: the same host addresses, the gateway as the default route
    for (const g of ['n3', 'n4']) addUplink(mesh, bed, g);
    // one argv word per option and child, as a shell splits them
    mesh.startAll(
      bmx7dSpec((n) => ['linkTimeout=10000', ...(args[n.name] ?? []).flatMap((a) => a.split(' '))]),
    );
    for (const n of ['n1', 'n2', 'n3', 'n4'])
      await waitFor(`primary address of ${n}`, () => primaryOf(mesh, n), { timeoutMs: 15_000 });
  }, 40_000);
  afterAll(() => {
    bed?.cleanup();
    mesh?.cleanup();
  });

  it('the client reaches both uplink hosts through its tunnel, and relays see only IPv6 4/41', async () => {
    try {
      await waitFor('ping through the tunnel', () => ping(6, UP6).status === 0 && ping(4, UP4).status === 0, {
        timeoutMs: 60_000,
        intervalMs: 1000,
      });
    } catch (e) {
      throw new Error(
        `${(e as Error).message}\n--- n1 ---\n${log('n1').slice(-3000)}\n--- n3 ---\n${log('n3').slice(-2000)}`,
      );
    }
    const dev = deviceOf('n1', UP6);
    expect(dev).toMatch(/^X7Out_/);
    expect(deviceOf('n1', UP4)).toBe(dev);
    // what crosses the client's link while it pings: tshark decodes outer and inner headers
    const cap = join(mesh.node('n2').dir, 'relay.pcap');
    const tshark = bed.spawn(mesh.node('n2').ns, 'tshark', [
      '-q',
      '-i',
      'eth1',
      '-w',
      cap,
      '-a',
      'duration:4',
    ]);
    await new Promise((r) => setTimeout(r, 1500));
    expect(ping(6, UP6).status).toBe(0);
    expect(ping(4, UP4).status).toBe(0);
    await new Promise<void>((r) => tshark.once('exit', () => r()));
    const fields = mesh.execOk('n2', 'tshark', [
      '-r',
      cap,
      '-T',
      'fields',
      '-E',
      'separator=|',
      '-e',
      'ipv6.nxt',
      '-e',
      'ipv6.src',
      '-e',
      'ipv6.dst',
      '-e',
      'ip.dst',
    ]);
    const carrying = fields
      .split('\n')
      .filter((l) => l.includes(UP6) || l.includes(UP4) || l.includes('fdaa:1::1') || l.includes('10.1.0.1'));
    // each successful ping is at least one request and one reply per family
    expect(carrying.length).toBeGreaterThanOrEqual(4);
    for (const l of carrying) {
      const [nxt] = l.split('|');
      // the first (outer) header's next header is 4 (IPv4) or 41 (IPv6)
      expect(['4', '41']).toContain(nxt!.split(',')[0]);
    }
    console.log(`tunnel ${dev}: ${carrying.length} encapsulated packets on the relay link, none plain`);
  }, 90_000);

  it('show tunnels lists the selected gateway per search', () => {
    const out = mesh.execOk(
      'n1',
      process.execPath,
      ctlArgv(['--runtime-dir', join(mesh.node('n1').dir, 'run'), 'show', 'tunnels', '--json']),
    );
    const rows = JSON.parse(out).rows as Array<Record<string, unknown>>;
    const used = rows.filter((r) => typeof r.tunName === 'string' && String(r.tunName).startsWith('X7Out_'));
    expect(used.map((r) => r.tunOut).sort()).toEqual(['up4', 'up6']);
  });

  it('stopping the selected gateway moves the traffic to the other one', async () => {
    const before = deviceOf('n1', UP6)!;
    // X7Out_<the gateway's short id>: the first 4 bytes of its node id, bytes 2–5 of its primary address
    const shortIdOf = (g: string) =>
      /^fd70:([0-9a-f]{1,4}):([0-9a-f]{1,4}):/
        .exec(primaryOf(mesh, g) ?? '')!
        .slice(1)
        .map((x) => x.padStart(4, '0'))
        .join('')
        .toUpperCase();
    const gw = ['n3', 'n4'].find((g) => before === `X7Out_${shortIdOf(g)}`);
    expect(gw, `${before} is a tunnel to n3 or n4`).toBeDefined();
    const t0 = Date.now();
    await mesh.stop(gw!, 'SIGTERM');
    await waitFor(
      'traffic through the other gateway',
      () => deviceOf('n1', UP6) !== before && ping(6, UP6).status === 0 && ping(4, UP4).status === 0,
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    console.log(
      `failover from ${gw}: ${((Date.now() - t0) / 1000).toFixed(1)} s until both families ran through ${deviceOf('n1', UP6)}`,
    );
  }, 90_000);

  it('a clean stop leaves no tunnel device, address or rule behind', async () => {
    for (const n of ['n1', 'n2', 'n3', 'n4']) await mesh.stop(n, 'SIGTERM');
    for (const n of ['n1', 'n3', 'n4']) {
      expect(mesh.execOk(n, 'ip', ['-o', 'link', 'show'])).not.toMatch(/X7/);
      expect(mesh.execOk(n, 'ip', ['-6', 'rule', 'show'])).not.toMatch(/^70:/m);
    }
  }, 60_000);
});
