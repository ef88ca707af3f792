/**
 * The kernel backend against an in-memory rtnetlink twin: the messages it sends, the error codes it
 * maps, and cleanup. The real kernel is in kernel.kernel.test.ts (the VM).
 */
import {
  concat,
  createMemoryNetlinkSocket,
  createNetlinkClient,
  decodeLinkMsg,
  encodeLinkMsg,
  IFF_UP,
  IFLA_STATS64,
  IN6_ADDR_GEN_MODE_NONE,
  IP6_TNL_F_IGN_ENCAP_LIMIT,
  type LinkMsg,
  type LinkStats,
  NETLINK_ROUTE,
  NLM_F_CREATE,
  NLM_F_EXCL,
  NLM_F_REPLACE,
  type NlMsg,
  nlAck,
  nla,
  nlReply,
  RTM_DELLINK,
  RTM_GETLINK,
  RTM_NEWLINK,
} from '@bmx7/netlink';
import { describe, expect, it } from 'vitest';
import { describeTunnelBackendCompliance } from './compliance.js';
import { createKernelBackend, kernelSpecProblem, kernelTunnelsUnavailableReason } from './kernel.js';
import type { TunnelSpec } from './types.js';

/** IFLA_STATS64 as the kernel appends it (24 u64 counters, the first eight set). */
function stats64(s: LinkStats | undefined): Uint8Array {
  if (!s) return new Uint8Array(0);
  const b = new Uint8Array(8 * 24);
  const dv = new DataView(b.buffer);
  const order = [
    s.rxPackets,
    s.txPackets,
    s.rxBytes,
    s.txBytes,
    s.rxErrors,
    s.txErrors,
    s.rxDropped,
    s.txDropped,
  ];
  for (const [i, v] of order.entries()) dv.setBigUint64(8 * i, BigInt(v), true);
  return nla(IFLA_STATS64, b);
}

/** rtnetlink as ip6tnl behaves: names unique, (local, remote) pairs unique, changelink replaces parameters. */
function twinKernel(opts: { failOn?: (req: NlMsg, link: LinkMsg) => number | undefined } = {}) {
  const links = new Map<number, LinkMsg>();
  let next = 5;
  const sock = createMemoryNetlinkSocket(NETLINK_ROUTE, (req) => {
    const d = decodeLinkMsg(req.payload);
    if (!d.ok) return [nlAck(req, 22)];
    const m = d.value;
    const injected = opts.failOn?.(req, m);
    if (injected) return [nlAck(req, injected)];
    const found = [...links.values()].find((l) => (m.index ? l.index === m.index : l.name === m.name));
    const clash = (self?: LinkMsg) =>
      m.ip6tnl &&
      [...links.values()].some(
        (l) => l !== self && l.ip6tnl?.local === m.ip6tnl!.local && l.ip6tnl?.remote === m.ip6tnl!.remote,
      );
    switch (req.type) {
      case RTM_NEWLINK: {
        if (!found) {
          if (!(req.flags & NLM_F_CREATE)) return [nlAck(req, 19)];
          if (m.kind !== 'ip6tnl') return [nlAck(req, 95)];
          if (clash()) return [nlAck(req, 17)];
          const l: LinkMsg = { ...m, index: next++, flags: 0, mtu: m.mtu ?? 1452 };
          links.set(l.index, l);
          return [nlAck(req)];
        }
        if (req.flags & NLM_F_EXCL) return [nlAck(req, 17)];
        if (m.ip6tnl) {
          if (clash(found)) return [nlAck(req, 17)];
          found.ip6tnl = m.ip6tnl;
        }
        if (m.mtu !== undefined) found.mtu = m.mtu;
        if (m.addrGenMode !== undefined) found.addrGenMode = m.addrGenMode;
        found.flags = (found.flags & ~m.change) | (m.flags & m.change);
        return [nlAck(req)];
      }
      case RTM_DELLINK:
        if (!found) return [nlAck(req, 19)];
        links.delete(found.index);
        return [nlAck(req)];
      case RTM_GETLINK:
        if (!found) return [nlAck(req, 19)];
        return [nlReply(req, RTM_NEWLINK, concat([encodeLinkMsg(found), stats64(found.stats)]))];
      default:
        return [nlAck(req, 95)];
    }
  });
  return { sock, links, client: createNetlinkClient(sock) };
}

const spec = (over: Partial<TunnelSpec> = {}): TunnelSpec => ({
  name: 'X7Out_6484B2ED',
  local: 'fd71::1',
  remote: 'fd70::1',
  mtu: 1460,
  ...over,
});

describe('kernel tunnel backend (rtnetlink twin)', () => {
  it("creates an ip6tnl device in mode any with the reference's parameters, up, with the MTU", async () => {
    const k = twinKernel();
    const b = createKernelBackend({ client: k.client });
    expect(b.kind).toBe('kernel');
    const t = await b.create(spec());
    expect(t).toMatchObject({ name: 'X7Out_6484B2ED', ifindex: 5, spec: spec() });
    const [add] = k.sock.requests;
    expect(add!.type).toBe(RTM_NEWLINK);
    expect(add!.flags & (NLM_F_CREATE | NLM_F_EXCL)).toBe(NLM_F_CREATE | NLM_F_EXCL);
    expect(decodeLinkMsg(add!.payload)).toMatchObject({
      ok: true,
      value: {
        name: 'X7Out_6484B2ED',
        mtu: 1460,
        kind: 'ip6tnl',
        ip6tnl: {
          local: 'fd71::1',
          remote: 'fd70::1',
          hopLimit: 64,
          encapLimit: 0,
          flags: IP6_TNL_F_IGN_ENCAP_LIMIT,
          proto: 0,
        },
      },
    });
    expect(k.links.get(5)).toMatchObject({ flags: IFF_UP, mtu: 1460, addrGenMode: IN6_ADDR_GEN_MODE_NONE });
    // the address generation mode goes before IFF_UP: up first, the kernel makes a link-local at once
    const sets = k.sock.requests.filter((r) => r.type === RTM_NEWLINK).map((r) => decodeLinkMsg(r.payload));
    const modeAt = sets.findIndex((d) => d.ok && d.value.addrGenMode === IN6_ADDR_GEN_MODE_NONE);
    const upAt = sets.findIndex((d) => d.ok && d.value.change === IFF_UP);
    expect(modeAt).toBeGreaterThan(0);
    expect(upAt).toBeGreaterThan(modeAt);
    expect(b.list()).toEqual([t]);
  });

  it('takes remote :: (any) and a hop limit', async () => {
    const k = twinKernel();
    const b = createKernelBackend({ client: k.client });
    await b.create(spec({ name: 'X7dflt', remote: '::', hopLimit: 9 }));
    expect(k.links.get(5)!.ip6tnl).toMatchObject({ remote: '::', hopLimit: 9 });
  });

  it('maps a taken name and clashing ends to ERR_TUNNEL_EXISTS, leaving nothing', async () => {
    const k = twinKernel();
    const b = createKernelBackend({ client: k.client });
    await b.create(spec());
    await expect(b.create(spec())).rejects.toMatchObject({ name: 'TunnelError', code: 'ERR_TUNNEL_EXISTS' });
    const other = createKernelBackend({ client: k.client });
    await expect(other.create(spec())).rejects.toMatchObject({
      code: 'ERR_TUNNEL_EXISTS',
      device: spec().name,
    });
    await expect(other.create(spec({ name: 'X7other' }))).rejects.toMatchObject({
      code: 'ERR_TUNNEL_EXISTS',
      message: expect.stringContaining('same') as unknown,
    });
    expect([...k.links.values()].map((l) => l.name)).toEqual([spec().name]);
    expect(other.list()).toEqual([]);
  });

  it('refuses bad specs before touching the kernel', async () => {
    const k = twinKernel();
    const b = createKernelBackend({ client: k.client });
    for (const bad of [
      spec({ name: '' }),
      spec({ name: 'a-name-of-16-chr' }),
      spec({ name: 'a/b' }),
      spec({ local: '10.0.0.1' }),
      spec({ remote: 'fd70::1/64' }),
      spec({ mtu: 67 }),
      spec({ mtu: 1e6 }),
      spec({ hopLimit: 0 }),
      spec({ hopLimit: 256 }),
    ]) {
      expect(kernelSpecProblem(bad)).toBeTypeOf('string');
      await expect(b.create(bad)).rejects.toMatchObject({ code: 'ERR_TUNNEL_CREATE' });
    }
    expect(k.sock.requests).toEqual([]);
    expect(kernelSpecProblem(spec())).toBeUndefined();
  });

  it('deletes a device it made when setting it up fails', async () => {
    const k = twinKernel({
      failOn: (req, m) => (req.type === RTM_NEWLINK && m.change === IFF_UP ? 22 : undefined),
    });
    const b = createKernelBackend({ client: k.client });
    await expect(b.create(spec({ mtu: 1460 }))).rejects.toMatchObject({ code: 'ERR_TUNNEL_CREATE' });
    expect(k.links.size).toBe(0);
    expect(b.list()).toEqual([]);
  });

  it('reports a kernel without ip6tnl as ERR_TUNNEL_BACKEND', async () => {
    const k = twinKernel({ failOn: (req) => (req.type === RTM_NEWLINK ? 95 : undefined) });
    const b = createKernelBackend({ client: k.client });
    await expect(b.create(spec())).rejects.toMatchObject({ code: 'ERR_TUNNEL_BACKEND' });
  });

  it('updates ends, MTU and hop limit in place on the same ifindex', async () => {
    const k = twinKernel();
    const b = createKernelBackend({ client: k.client });
    const t = await b.create(spec());
    const u = await b.update(spec({ local: 'fd71::2', remote: '::', mtu: 1400, hopLimit: 3 }));
    expect(u.ifindex).toBe(t.ifindex);
    expect(u.spec).toMatchObject({ local: 'fd71::2', remote: '::', mtu: 1400, hopLimit: 3 });
    // the change: RTM_NEWLINK on the index with the kind's parameters, neither CREATE nor REPLACE
    const withKind = (r: NlMsg) => {
      const d = decodeLinkMsg(r.payload);
      return d.ok && d.value.kind === 'ip6tnl';
    };
    const change = k.sock.requests.filter((r) => r.type === RTM_NEWLINK && withKind(r))[1]!;
    expect(change.flags & NLM_F_CREATE).toBe(0);
    expect(change.flags & (NLM_F_REPLACE | NLM_F_EXCL)).toBe(0);
    expect(decodeLinkMsg(change.payload)).toMatchObject({
      ok: true,
      value: { index: t.ifindex, kind: 'ip6tnl', ip6tnl: { remote: '::' } },
    });
    expect(k.links.get(t.ifindex)).toMatchObject({
      mtu: 1400,
      ip6tnl: { local: 'fd71::2', remote: '::', hopLimit: 3 },
    });
    expect(b.list()).toEqual([u]);
  });

  it('update: ERR_TUNNEL_MISSING for unknown or vanished devices, ERR_TUNNEL_EXISTS for clashing ends', async () => {
    const k = twinKernel();
    const b = createKernelBackend({ client: k.client });
    await expect(b.update(spec())).rejects.toMatchObject({ code: 'ERR_TUNNEL_MISSING' });
    const t = await b.create(spec());
    await b.create(spec({ name: 'X7two', local: 'fd71::9' }));
    await expect(b.update(spec({ local: 'fd71::9' }))).rejects.toMatchObject({ code: 'ERR_TUNNEL_EXISTS' });
    await expect(b.update(spec({ mtu: 20 }))).rejects.toMatchObject({ code: 'ERR_TUNNEL_CREATE' });
    k.links.delete(t.ifindex);
    await expect(b.update(spec())).rejects.toMatchObject({ code: 'ERR_TUNNEL_MISSING' });
    expect(b.list().map((x) => x.name)).toEqual(['X7two']);
  });

  it('reads counters from IFLA_STATS64 and keeps the last values once the device is gone', async () => {
    const k = twinKernel();
    const b = createKernelBackend({ client: k.client });
    const t = await b.create(spec());
    expect(t.counters()).toEqual({ rxPackets: 0, rxBytes: 0, txPackets: 0, txBytes: 0, dropped: 0 });
    k.links.get(t.ifindex)!.stats = {
      rxPackets: 3,
      txPackets: 4,
      rxBytes: 300,
      txBytes: 400,
      rxErrors: 0,
      txErrors: 1,
      rxDropped: 1,
      txDropped: 1,
    };
    const want = { rxPackets: 3, rxBytes: 300, txPackets: 4, txBytes: 400, dropped: 2 };
    expect(t.counters()).toEqual(want);
    await b.remove(t.name);
    expect(t.counters()).toEqual(want);
  });

  it('remove is a no-op for unknown or vanished devices; close removes the rest and refuses more work', async () => {
    const k = twinKernel();
    const b = createKernelBackend({ client: k.client });
    await b.remove('X7none');
    const t = await b.create(spec());
    await b.create(spec({ name: 'X7two', local: 'fd71::9' }));
    await b.create(spec({ name: 'X7three', local: 'fd71::a' }));
    k.links.delete(t.ifindex);
    await b.remove(t.name);
    expect(b.list().map((x) => x.name)).toEqual(['X7two', 'X7three']);
    await b.close();
    expect(k.links.size).toBe(0);
    expect(b.list()).toEqual([]);
    await b.close();
    await b.remove('X7two');
    await expect(b.create(spec())).rejects.toMatchObject({ code: 'ERR_TUNNEL_BACKEND' });
    await expect(b.update(spec())).rejects.toMatchObject({ code: 'ERR_TUNNEL_BACKEND' });
  });

  it('close reports a device it could not remove, and still closes', async () => {
    const k = twinKernel({ failOn: (req) => (req.type === RTM_DELLINK ? 1 : undefined) });
    const b = createKernelBackend({ client: k.client });
    await b.create(spec());
    await expect(b.close()).rejects.toMatchObject({ code: 'ERR_TUNNEL_BACKEND', device: spec().name });
    await expect(b.create(spec())).rejects.toMatchObject({ code: 'ERR_TUNNEL_BACKEND' });
  });

  it('an unanswered request is ERR_TUNNEL_BACKEND', async () => {
    const silent = createNetlinkClient(createMemoryNetlinkSocket(NETLINK_ROUTE, () => []));
    const b = createKernelBackend({
      client: { ...silent, request: (t, f, p) => silent.request(t, f, p, { timeoutMs: 1 }) },
    });
    await expect(b.create(spec())).rejects.toMatchObject({ code: 'ERR_TUNNEL_BACKEND' });
  });
});

describe('kernel tunnel probe', () => {
  it('makes a throw-away ip6tnl device and deletes it at once', () => {
    const k = twinKernel();
    expect(kernelTunnelsUnavailableReason({ client: k.client })).toBeUndefined();
    expect(k.sock.requests.map((r) => r.type)).toEqual([RTM_NEWLINK, RTM_DELLINK]);
    const made = decodeLinkMsg(k.sock.requests[0]!.payload);
    expect(made.ok && made.value.kind).toBe('ip6tnl');
    expect(made.ok && made.value.name!.length).toBeLessThanOrEqual(15);
    expect(k.links.size).toBe(0);
  });

  it('says why not: no ip6tnl in the kernel, no permission; EEXIST means ip6tnl is there', () => {
    const fails = (errno: number) =>
      kernelTunnelsUnavailableReason({
        client: twinKernel({ failOn: (req) => (req.type === RTM_NEWLINK ? errno : undefined) }).client,
      });
    expect(fails(95)).toMatch(/no ip6tnl/);
    expect(fails(1)).toMatch(/EPERM/);
    expect(fails(17)).toBeUndefined();
    expect(kernelTunnelsUnavailableReason({ netns: '/nonexistent/netns' })).toMatch(/rtnetlink/);
  });
});

describeTunnelBackendCompliance('kernel, on the rtnetlink twin', () => {
  const k = twinKernel();
  let other = 1000;
  return {
    backend: createKernelBackend({ client: k.client }),
    name: (tag) => `kc${tag}`,
    exists: (name) => [...k.links.values()].some((l) => l.name === name),
    occupy: (name) => {
      const index = other++;
      k.links.set(index, { family: 0, type: 1, index, flags: 0, change: 0, name, kind: 'veth' });
    },
  };
});
