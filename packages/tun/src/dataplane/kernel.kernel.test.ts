/**
 * The kernel backend on a kernel with ip6tnl (the QEMU VM: `pnpm test:vm kernel.kernel`): devices
 * made, changed and removed through rtnetlink inside two namespaces, checked against iproute2's
 * view and @bmx7/netlink's own decoding, with IPv4-in-IPv6 and IPv6-in-IPv6 traffic both ways.
 *
 *   ns a                                          ns b
 *   ta  10.97.0.1/30  fd97:1::1/64                tb  10.97.0.2/30  fd97:1::2/64
 *    └─ ip6tnl any, fd97::1 (later fd97::11) ⇄ fd97::2 ─┘
 *   veth fd97::1/64, fd97::11/64 ─────────────── veth fd97::2/64
 *
 * Elsewhere the suite reports itself skipped with the reason.
 */
import {
  bytesToIp,
  createNetlinkClient,
  IN6_ADDR_GEN_MODE_NONE,
  IP6_TNL_F_IGN_ENCAP_LIMIT,
  IP6_TNL_F_USER_MASK,
  NETLINK_ROUTE,
  type NetlinkClient,
  openNetlinkSocket,
  rtnlGetLink,
} from '@bmx7/netlink';
import { describeKernel } from '@bmx7/testenv/env';
import { createNetnsBed, type NetnsBed, waitFor } from '@bmx7/testenv/netns';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createKernelBackend, kernelTunnelsAvailable, kernelTunnelsUnavailableReason } from './kernel.js';
import type { TunnelBackend, TunnelSpec } from './types.js';

/**
 * Prints "ready", then the IPv6 packets (hex, one a line) with next header 4, 41 or 60 (destination
 * options, where an encapsulation limit would sit) arriving on interface argv[1], until argv[2] of them.
 */
const CAPTURE = `
import socket, sys
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x86DD))
s.bind((sys.argv[1], 0))
s.settimeout(30)
print("ready", flush=True)
n = 0
while n < int(sys.argv[2]):
    pkt, addr = s.recvfrom(65535)
    if addr[2] == socket.PACKET_OUTGOING or pkt[14 + 6] not in (4, 41, 60):
        continue
    print(pkt[14:].hex(), flush=True)
    n += 1
`;

interface IpLink {
  ifname: string;
  ifindex: number;
  mtu: number;
  flags: string[];
  linkinfo?: { info_kind: string; info_data?: Record<string, unknown> };
}

describeKernel('tunnel kernel backend (ip6tnl through rtnetlink)', ['ip6tnl'], () => {
  let bed: NetnsBed;
  let a = '';
  let b = '';
  let ka: TunnelBackend;
  let kb: TunnelBackend;
  let nlA: NetlinkClient;
  let underB = '';
  let before: { a: string[]; b: string[] };
  const names = () => ({ ta: bed.name('ta'), tb: bed.name('tb'), t2: bed.name('t2') });

  const links = (ns: string): IpLink[] =>
    JSON.parse(bed.execOk(ns, 'ip', ['-d', '-j', 'link', 'show'])) as IpLink[];
  const link = (ns: string, dev: string): IpLink => {
    const [l] = JSON.parse(bed.execOk(ns, 'ip', ['-d', '-j', 'link', 'show', 'dev', dev])) as IpLink[];
    if (!l) throw new Error(`no ${dev} in ${ns}`);
    return l;
  };
  /** Link names, without the fallback device `ip6tnl0` the ip6_tunnel module gives every namespace. */
  const linkNames = (ns: string) =>
    links(ns)
      .map((l) => l.ifname)
      .filter((n) => n !== 'ip6tnl0')
      .sort();
  const ping = (ns: string, target: string, count = 3) =>
    bed.exec(ns, 'ping', ['-c', String(count), '-i', '0.2', '-W', '2', target]);
  const pingsThrough = async (from: string, target: string) => {
    await waitFor(`ping ${target} from ${from}`, () => ping(from, target, 1).status === 0);
    expect(ping(from, target).stdout).toMatch(/3 packets transmitted, 3 received/);
  };

  beforeAll(() => {
    bed = createNetnsBed('tk');
    a = bed.ns('a');
    b = bed.ns('b');
    const [va, vb] = bed.veth(a, b);
    underB = vb;
    // nodad: the underlay addresses are usable at once instead of after duplicate detection.
    bed.execOk(a, 'ip', ['-6', 'addr', 'add', 'fd97::1/64', 'dev', va, 'nodad']);
    bed.execOk(a, 'ip', ['-6', 'addr', 'add', 'fd97::11/64', 'dev', va, 'nodad']);
    bed.execOk(b, 'ip', ['-6', 'addr', 'add', 'fd97::2/64', 'dev', vb, 'nodad']);
    before = { a: linkNames(a), b: linkNames(b) };
    ka = createKernelBackend({ netns: a });
    kb = createKernelBackend({ netns: b });
    nlA = createNetlinkClient(openNetlinkSocket(NETLINK_ROUTE, { netns: a }));
  });

  afterAll(async () => {
    await ka?.close().catch(() => undefined);
    await kb?.close().catch(() => undefined);
    nlA?.close();
    bed?.cleanup();
  });

  it('the probe finds ip6tnl and leaves nothing behind', () => {
    expect(kernelTunnelsUnavailableReason({ netns: a })).toBeUndefined();
    expect(kernelTunnelsAvailable({ netns: b })).toBe(true);
    expect(linkNames(a)).toEqual(before.a);
    expect(linkNames(b)).toEqual(before.b);
  });

  it('creates ip6tnl devices in mode any, up, with the ends, MTU and hop limit, inside the namespace', async () => {
    const { ta, tb } = names();
    const specA: TunnelSpec = { name: ta, local: 'fd97::1', remote: 'fd97::2', mtu: 1400 };
    const tA = await ka.create(specA);
    await kb.create({ name: tb, local: 'fd97::2', remote: 'fd97::1', mtu: 1400, hopLimit: 32 });

    const la = link(a, ta);
    expect(la.ifindex).toBe(tA.ifindex);
    expect(la.mtu).toBe(1400);
    expect(la.flags).toContain('UP');
    expect(la.linkinfo?.info_kind).toBe('ip6tnl');
    expect(la.linkinfo?.info_data).toMatchObject({ proto: 'any', local: 'fd97::1', remote: 'fd97::2' });
    const text = bed.execOk(a, 'ip', ['-d', 'link', 'show', 'dev', ta]);
    expect(text).toMatch(/hoplimit 64/);
    expect(text).toMatch(/encaplimit none/);
    expect(bed.execOk(b, 'ip', ['-d', 'link', 'show', 'dev', tb])).toMatch(/hoplimit 32/);
    expect(bed.exec(b, 'ip', ['link', 'show', 'dev', ta]).status).not.toBe(0);

    // @bmx7/netlink reads the same back from the kernel.
    const got = rtnlGetLink(nlA, { name: ta });
    expect(got).toMatchObject({ index: tA.ifindex, kind: 'ip6tnl', mtu: 1400 });
    expect(got?.ip6tnl).toMatchObject({ local: 'fd97::1', remote: 'fd97::2', hopLimit: 64, proto: 0 });
    expect((got?.ip6tnl?.flags ?? 0) & IP6_TNL_F_USER_MASK).toBe(IP6_TNL_F_IGN_ENCAP_LIMIT);
    // No link-local address of the kernel's own: nothing of its own goes through the tunnel.
    expect(got?.addrGenMode).toBe(IN6_ADDR_GEN_MODE_NONE);
    expect(bed.execOk(a, 'ip', ['-6', 'addr', 'show', 'dev', ta]).trim()).toBe('');
    expect(tA.counters()).toEqual({ rxPackets: 0, rxBytes: 0, txPackets: 0, txBytes: 0, dropped: 0 });
    expect(ka.list().map((t) => t.name)).toEqual([ta]);
  });

  it('refuses a taken name and a second device with the same ends, leaving nothing', async () => {
    const { ta, t2 } = names();
    await expect(
      ka.create({ name: ta, local: 'fd97::1', remote: 'fd97::3', mtu: 1400 }),
    ).rejects.toMatchObject({
      code: 'ERR_TUNNEL_EXISTS',
    });
    await expect(
      ka.create({ name: t2, local: 'fd97::1', remote: 'fd97::2', mtu: 1400 }),
    ).rejects.toMatchObject({
      code: 'ERR_TUNNEL_EXISTS',
      message: expect.stringContaining('same ends') as unknown,
    });
    expect(bed.exec(a, 'ip', ['link', 'show', 'dev', t2]).status).not.toBe(0);
    await expect(ka.create({ name: t2, local: 'fd97::1', remote: 'fd97::9', mtu: 40 })).rejects.toMatchObject(
      {
        code: 'ERR_TUNNEL_CREATE',
      },
    );
    expect(bed.exec(a, 'ip', ['link', 'show', 'dev', t2]).status).not.toBe(0);
  });

  it('carries IPv4-in-IPv6 and IPv6-in-IPv6 pings both ways, and counts them', async () => {
    const { ta, tb } = names();
    bed.execOk(a, 'ip', ['addr', 'add', '10.97.0.1/30', 'dev', ta]);
    bed.execOk(b, 'ip', ['addr', 'add', '10.97.0.2/30', 'dev', tb]);
    bed.execOk(a, 'ip', ['-6', 'addr', 'add', 'fd97:1::1/64', 'dev', ta, 'nodad']);
    bed.execOk(b, 'ip', ['-6', 'addr', 'add', 'fd97:1::2/64', 'dev', tb, 'nodad']);
    const [tA] = ka.list();
    const c0 = tA!.counters();
    await pingsThrough(a, '10.97.0.2');
    await pingsThrough(b, '10.97.0.1');
    await pingsThrough(a, 'fd97:1::2');
    await pingsThrough(b, 'fd97:1::1');
    const c1 = tA!.counters();
    expect(c1.txPackets - c0.txPackets).toBeGreaterThanOrEqual(12);
    expect(c1.rxPackets - c0.rxPackets).toBeGreaterThanOrEqual(12);
    expect(c1.txBytes).toBeGreaterThan(c0.txBytes);
  });

  it('sends plain IPv6 with next header 4 or 41: no encapsulation limit option, hop limit 64, traffic class 0', async () => {
    // What the userspace twin must send and accept too (docs/protocol.md §4.14): read off b's
    // underlay with a packet socket, first outer packet of each kind from a.
    const cap = bed.spawn(b, '/usr/bin/python3', ['-c', CAPTURE, underB, '2']);
    let out = '';
    cap.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
    });
    const done = new Promise<number | null>((resolve) => cap.on('exit', resolve));
    await waitFor('the capture to start', () => out.includes('ready'));
    ping(a, '10.97.0.2', 1);
    ping(a, 'fd97:1::2', 1);
    expect(await done).toBe(0);
    const packets = out
      .split('\n')
      .filter((l) => /^[0-9a-f]+$/.test(l))
      .map((h) => Uint8Array.from(h.match(/../g)!.map((x) => Number.parseInt(x, 16))));
    expect(packets.map((p) => p[6])).toEqual([4, 41]);
    for (const p of packets) {
      expect(p[0]).toBe(0x60); // version 6, traffic class 0 …
      expect(p[1]! >> 4).toBe(0);
      expect(p[7]).toBe(64); // hop limit
      expect(bytesToIp(p.subarray(8, 24))).toBe('fd97::1');
      expect(bytesToIp(p.subarray(24, 40))).toBe('fd97::2');
    }
    expect(packets[0]![40]! >> 4).toBe(4); // the IPv4 packet follows the outer header directly
    expect(packets[1]![40]! >> 4).toBe(6);
  });

  it('update changes the ends, MTU and hop limit in place; traffic follows', async () => {
    const { ta, tb } = names();
    const [old] = ka.list();
    const tA = await ka.update({ name: ta, local: 'fd97::11', remote: 'fd97::2', mtu: 1380, hopLimit: 10 });
    await kb.update({ name: tb, local: 'fd97::2', remote: 'fd97::11', mtu: 1380 });
    expect(tA.ifindex).toBe(old!.ifindex);
    const la = link(a, ta);
    expect(la.ifindex).toBe(old!.ifindex);
    expect(la.mtu).toBe(1380);
    expect(la.flags).toContain('UP');
    expect(la.linkinfo?.info_data).toMatchObject({ proto: 'any', local: 'fd97::11', remote: 'fd97::2' });
    expect(bed.execOk(a, 'ip', ['-d', 'link', 'show', 'dev', ta])).toMatch(/hoplimit 10/);
    expect(bed.execOk(b, 'ip', ['-d', 'link', 'show', 'dev', tb])).toMatch(/hoplimit 64/);
    expect(rtnlGetLink(nlA, { index: tA.ifindex })?.ip6tnl).toMatchObject({
      local: 'fd97::11',
      hopLimit: 10,
    });
    await pingsThrough(a, '10.97.0.2');
    await pingsThrough(b, 'fd97:1::1');
    await expect(
      ka.update({ name: bed.name('zz'), local: 'fd97::1', remote: 'fd97::2', mtu: 1400 }),
    ).rejects.toMatchObject({ code: 'ERR_TUNNEL_MISSING' });
  });

  it('remote :: takes encapsulated packets from any remote', async () => {
    const { tb } = names();
    const tB = await kb.update({ name: tb, local: 'fd97::2', remote: '::', mtu: 1380 });
    const nlB = createNetlinkClient(openNetlinkSocket(NETLINK_ROUTE, { netns: b }));
    try {
      expect(rtnlGetLink(nlB, { name: tb })?.ip6tnl).toMatchObject({ local: 'fd97::2', remote: '::' });
    } finally {
      nlB.close();
    }
    const c0 = tB.counters();
    // b cannot answer through a device without a remote; the requests must still arrive there.
    ping(a, '10.97.0.2', 3);
    await waitFor(
      'requests arriving on the any-remote device',
      () => tB.counters().rxPackets - c0.rxPackets >= 3,
    );
  });

  it('remove deletes a device; close removes the rest; nothing is left', async () => {
    const { ta, t2 } = names();
    await ka.create({ name: t2, local: 'fd97::1', remote: 'fd97::5', mtu: 1400 });
    expect(linkNames(a)).toEqual([...before.a, ta, t2].sort());
    await ka.remove(ta);
    await ka.remove(ta);
    await ka.remove(bed.name('zz'));
    expect(bed.exec(a, 'ip', ['link', 'show', 'dev', ta]).status).not.toBe(0);
    expect(ka.list().map((t) => t.name)).toEqual([t2]);
    await ka.close();
    await kb.close();
    expect(linkNames(a)).toEqual(before.a);
    expect(linkNames(b)).toEqual(before.b);
    await expect(
      ka.create({ name: ta, local: 'fd97::1', remote: 'fd97::2', mtu: 1400 }),
    ).rejects.toMatchObject({
      code: 'ERR_TUNNEL_BACKEND',
    });
  });
});
