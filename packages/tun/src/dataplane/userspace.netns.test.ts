/**
 * The userspace ip6tnl twin in network namespaces: the compliance suite, pings through it both
 * ways over IPv4-in-IPv6 and IPv6-in-IPv6 with a capture of the underlay, a gateway device (any
 * remote) taking packets from two remotes, and the command-line entry leaving nothing behind.
 *
 *   ns a                          ns b (gateway)                         ns c
 *   ta  10.97.1.1  fd97:1::1      tb  10.97.1.2  fd97:1::2
 *    └ fd97:a::1 → fd97:a::2       └ fd97:a::2 → fd97:a::1
 *   ga  10.97.2.10 ─┐              gw  10.97.2.1  fd97:2::1                gc  10.97.2.20
 *    └ fd97:a::1 → fd97:ff::2       └ fd97:ff::2 (lo) → any                  └ fd97:c::3 → fd97:ff::2
 *   veth fd97:a::1 ─────────────── veth fd97:a::2   veth fd97:c::2 ─────── veth fd97:c::3
 *
 * The backends run in this process: `netns` makes their devices and sockets inside a namespace.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeNetns, repoRoot } from '@bmx7/testenv/env';
import { createNetnsBed, type NetnsBed, waitFor } from '@bmx7/testenv/netns';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeTunnelBackendCompliance } from './compliance.js';
import type { Tunnel } from './types.js';
import { createUserspaceBackend, type UserspaceBackend } from './userspace.js';

const CLI = fileURLToPath(new URL('./cli.ts', import.meta.url));

function linkExists(bed: NetnsBed, ns: string, name: string): boolean {
  return bed.exec(ns, 'ip', ['link', 'show', 'dev', name]).status === 0;
}

/** Packet counters of a link as the kernel sees them. */
function kernelStats(bed: NetnsBed, ns: string, dev: string): { rx: number; tx: number } {
  const [link] = JSON.parse(bed.execOk(ns, 'ip', ['-s', '-j', 'link', 'show', 'dev', dev])) as {
    stats64: { rx: { packets: number }; tx: { packets: number } };
  }[];
  if (!link) throw new Error(`no link ${dev} in ${ns}`);
  return { rx: link.stats64.rx.packets, tx: link.stats64.tx.packets };
}

describeNetns('userspace ip6tnl twin', () => {
  let bed: NetnsBed;

  describeTunnelBackendCompliance('userspace', () => {
    bed ??= createNetnsBed('ut');
    const ns = bed.ns('k');
    return {
      backend: createUserspaceBackend({ netns: ns }),
      name: (tag) => bed.name(tag),
      exists: (name) => linkExists(bed, ns, name),
      occupy: (name) => {
        bed.execOk(ns, 'ip', ['tuntap', 'add', 'dev', name, 'mode', 'tun']);
      },
    };
  });

  let a: string;
  let b: string;
  let c: string;
  let vab: string;
  let vba: string;
  let ua: UserspaceBackend;
  let ub: UserspaceBackend;
  let uc: UserspaceBackend;
  let ta: Tunnel;
  let tb: Tunnel;
  let gw: Tunnel;
  let dir: string;

  beforeAll(async () => {
    bed ??= createNetnsBed('ut');
    dir = mkdtempSync(join(tmpdir(), 'bmx7-ut-'));
    a = bed.ns('a');
    b = bed.ns('b');
    c = bed.ns('c');
    [vab, vba] = bed.veth(a, b);
    const [vcb, vbc] = bed.veth(c, b);
    // nodad: the underlay addresses are usable at once
    bed.execOk(a, 'ip', ['-6', 'addr', 'add', 'fd97:a::1/64', 'dev', vab, 'nodad']);
    bed.execOk(b, 'ip', ['-6', 'addr', 'add', 'fd97:a::2/64', 'dev', vba, 'nodad']);
    bed.execOk(c, 'ip', ['-6', 'addr', 'add', 'fd97:c::3/64', 'dev', vcb, 'nodad']);
    bed.execOk(b, 'ip', ['-6', 'addr', 'add', 'fd97:c::2/64', 'dev', vbc, 'nodad']);
    bed.execOk(b, 'ip', ['-6', 'addr', 'add', 'fd97:ff::2/128', 'dev', 'lo']);
    bed.execOk(a, 'ip', ['-6', 'route', 'add', 'fd97:ff::2/128', 'via', 'fd97:a::2']);
    bed.execOk(c, 'ip', ['-6', 'route', 'add', 'fd97:ff::2/128', 'via', 'fd97:c::2']);

    ua = createUserspaceBackend({ netns: a });
    ub = createUserspaceBackend({ netns: b });
    uc = createUserspaceBackend({ netns: c });
    ta = await ua.create({ name: bed.name('ta'), local: 'fd97:a::1', remote: 'fd97:a::2', mtu: 1440 });
    tb = await ub.create({ name: bed.name('tb'), local: 'fd97:a::2', remote: 'fd97:a::1', mtu: 1440 });
    gw = await ub.create({ name: bed.name('gw'), local: 'fd97:ff::2', remote: '::', mtu: 1440 });
    const ga = await ua.create({ name: bed.name('ga'), local: 'fd97:a::1', remote: 'fd97:ff::2', mtu: 1440 });
    const gc = await uc.create({ name: bed.name('gc'), local: 'fd97:c::3', remote: 'fd97:ff::2', mtu: 1440 });
    const addrs: [string, string, string][] = [
      [a, ta.name, '10.97.1.1/30'],
      [b, tb.name, '10.97.1.2/30'],
      [a, ta.name, 'fd97:1::1/64'],
      [b, tb.name, 'fd97:1::2/64'],
      [b, gw.name, '10.97.2.1/24'],
      [b, gw.name, 'fd97:2::1/64'],
      [a, ga.name, '10.97.2.10/24'],
      [a, ga.name, 'fd97:2::10/64'],
      [c, gc.name, '10.97.2.20/24'],
      [c, gc.name, 'fd97:2::20/64'],
    ];
    for (const [ns, dev, addr] of addrs) {
      bed.execOk(ns, 'ip', ['addr', 'add', addr, 'dev', dev, ...(addr.includes(':') ? ['nodad'] : [])]);
    }
  });

  afterAll(async () => {
    for (const u of [ua, ub, uc]) await u?.close();
    bed?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('makes TUN devices, up, with the MTU of the spec, in the namespace it was given', () => {
    const [link] = JSON.parse(bed.execOk(a, 'ip', ['-d', '-j', 'link', 'show', 'dev', ta.name])) as {
      mtu: number;
      ifindex: number;
      flags: string[];
      linkinfo: { info_kind: string; info_data: { type: string; pi: boolean } };
    }[];
    expect(link?.mtu).toBe(1440);
    expect(link?.ifindex).toBe(ta.ifindex);
    expect(link?.flags).toContain('UP');
    expect(link?.linkinfo).toMatchObject({ info_kind: 'tun', info_data: { type: 'tun', pi: false } });
    expect(linkExists(bed, b, ta.name)).toBe(false);
  });

  it('carries IPv4-in-IPv6 and IPv6-in-IPv6 pings both ways, and the veth sees only next headers 4 and 41', async () => {
    const pcap = join(dir, 'veth.pcap');
    const cap = bed.spawn(b, 'tshark', ['-i', vba, '-w', pcap, '-q']);
    let stderr = '';
    cap.stderr?.on('data', (d) => {
      stderr += String(d);
    });
    await waitFor('tshark to start capturing', () => stderr.includes('Capturing on'));
    const beforeA = ta.counters();
    const beforeB = tb.counters();
    for (const [from, target] of [
      [a, '10.97.1.2'],
      [a, 'fd97:1::2'],
      [b, '10.97.1.1'],
      [b, 'fd97:1::1'],
    ] as const) {
      const out = bed.execOk(from, 'ping', ['-c', '3', '-i', '0.2', '-W', '2', target]);
      expect(out).toMatch(/3 packets transmitted, 3 received/);
    }
    const exited = new Promise((resolve) => cap.once('exit', resolve));
    cap.kill('SIGINT');
    await exited;

    // 12 requests and 12 replies crossed each way: 12 packets out of and into each end
    const afterA = ta.counters();
    const afterB = tb.counters();
    expect(afterA.txPackets - beforeA.txPackets).toBeGreaterThanOrEqual(12);
    expect(afterA.rxPackets - beforeA.rxPackets).toBeGreaterThanOrEqual(12);
    expect(afterB.txPackets - beforeB.txPackets).toBeGreaterThanOrEqual(12);
    expect(afterB.rxPackets - beforeB.rxPackets).toBeGreaterThanOrEqual(12);
    expect(afterA.dropped).toBe(0);
    expect(afterB.dropped).toBe(0);

    const fields = spawnSync(
      'tshark',
      [
        '-r',
        pcap,
        '-T',
        'fields',
        '-E',
        'separator=|',
        '-e',
        'eth.type',
        '-e',
        'ipv6.nxt',
        '-e',
        'ipv6.src',
        '-e',
        'ipv6.dst',
        '-e',
        'ipv6.hlim',
        '-e',
        'ipv6.tclass',
        '-e',
        'icmpv6.type',
      ],
      { encoding: 'utf8' },
    );
    expect(fields.status).toBe(0);
    const rows = fields.stdout
      .trim()
      .split('\n')
      .map((l) => l.split('|'));
    const byNh = new Map<string, number>();
    for (const [ethType, nxt = '', src = '', dst = '', hlim = '', tclass = '', icmp = ''] of rows) {
      // no inner packet ever shows on the underlay by itself: every frame is IPv6
      expect(ethType).toBe('0x86dd');
      const outerNh = nxt.split(',')[0] as string;
      if (outerNh === '58' || outerNh === '0') {
        // the underlay's own neighbour discovery and multicast listener reports
        expect(['130', '131', '132', '133', '134', '135', '136', '137', '143']).toContain(icmp.split(',')[0]);
        continue;
      }
      expect(['4', '41']).toContain(outerNh);
      expect([src.split(',')[0], dst.split(',')[0]].sort()).toEqual(['fd97:a::1', 'fd97:a::2']);
      expect(hlim.split(',')[0]).toBe('64');
      expect(Number(tclass.split(',')[0])).toBe(0);
      byNh.set(outerNh, (byNh.get(outerNh) ?? 0) + 1);
    }
    // 12 of each crossed; the capture may miss the first few while it starts
    expect(byNh.get('4')).toBeGreaterThanOrEqual(6);
    expect(byNh.get('41')).toBeGreaterThanOrEqual(6);
  });

  it('takes packets from two remotes into a gateway device (any remote), beside a device for one remote', async () => {
    const before = gw.counters();
    const kBefore = kernelStats(bed, b, gw.name);
    // the gateway's replies have no tunnel back (a device with any remote only receives): one-way pings
    for (const [from, target] of [
      [a, '10.97.2.1'],
      [a, 'fd97:2::1'],
      [c, '10.97.2.1'],
      [c, 'fd97:2::1'],
    ] as const) {
      bed.exec(from, 'ping', ['-c', '2', '-i', '0.2', '-W', '1', target]);
    }
    const after = gw.counters();
    // (and the remotes' own router solicitations and listener reports for their tunnel addresses)
    expect(after.rxPackets - before.rxPackets).toBeGreaterThanOrEqual(8);
    // what came out of the device reached the kernel, and the replies routed into it were dropped
    expect(kernelStats(bed, b, gw.name).rx - kBefore.rx).toBeGreaterThanOrEqual(8);
    expect(after.txPackets).toBe(0);
    expect(after.dropped - before.dropped).toBeGreaterThanOrEqual(8);
    // the point-to-point device of the same namespace took none of them
    expect(tb.counters().dropped).toBe(0);
    expect(ub.unmatched()).toBe(0);
  });

  it('the command-line entry removes its device on SIGTERM, and leaves nothing when killed', async () => {
    for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
      const name = bed.name(signal === 'SIGTERM' ? 'ct' : 'ck');
      const child = bed.spawn(
        c,
        process.execPath,
        ['--import', 'tsx', '--conditions=@bmx7/source', CLI, 'up', name, 'fd97:c::3', 'fd97:c::9', '1400'],
        { cwd: repoRoot, stdio: ['pipe', 'pipe', 'pipe'] },
      );
      let out = '';
      child.stdout?.on('data', (d) => {
        out += String(d);
      });
      await waitFor(`${name} up`, () => out.includes(`"up":"${name}"`));
      expect(linkExists(bed, c, name)).toBe(true);
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      child.kill(signal);
      const code = await exited;
      if (signal === 'SIGTERM') expect(code).toBe(0);
      await waitFor(`${name} gone`, () => !linkExists(bed, c, name), { timeoutMs: 5000 });
    }
  });
});
