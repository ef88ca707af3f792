/**
 * ip6tnl link messages (linux/if_tunnel.h IFLA_IPTUN_*, linux/ip6_tunnel.h IP6_TNL_F_*): golden
 * bytes from iproute2, round trips, truncation and bit flips, and the request shapes against the
 * in-memory netlink twin. Kernel behaviour is checked in the VM (packages/tun, kernel tests).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { concat, decodeAttrs, nla, nlaU8 } from './attr.js';
import { createNetlinkClient } from './client.js';
import { createMemoryNetlinkSocket, nlAck, nlReply } from './memory-socket.js';
import { NETLINK_ROUTE, NLM_F_ACK, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REQUEST, type NlMsg } from './nlmsg.js';
import { bytesToIp } from './rtnl-ip.js';
import {
  decodeIp6TnlInfoData,
  decodeLinkMsg,
  encodeLinkMsg,
  IFINFOMSG_LEN,
  IFLA_AF_SPEC,
  IFLA_INFO_DATA,
  IFLA_INFO_KIND,
  IFLA_IPTUN_ENCAP_LIMIT,
  IFLA_IPTUN_FLAGS,
  IFLA_IPTUN_LOCAL,
  IFLA_IPTUN_PROTO,
  IFLA_IPTUN_REMOTE,
  IFLA_IPTUN_TTL,
  IFLA_LINKINFO,
  IFLA_STATS64,
  IN6_ADDR_GEN_MODE_NONE,
  IP6_TNL_F_IGN_ENCAP_LIMIT,
  IPPROTO_IPV6,
  type Ip6TnlParms,
  ip6tnlInfoData,
  ip6tnlParms,
  RTM_DELLINK,
  RTM_GETLINK,
  RTM_NEWLINK,
  rtnlDelLink,
  rtnlGetLink,
  rtnlNewLink,
  rtnlSetLink,
} from './rtnl-link.js';

const hex = (s: string) => Uint8Array.from(s.match(/../g)!.map((b) => Number.parseInt(b, 16)));

/**
 * The RTM_NEWLINK payload (after the nlmsghdr; flags NLM_F_REQUEST|ACK|EXCL|CREATE) that iproute2
 * 6.1 sends for `ip link add b7t0 mtu 1400 type ip6tnl mode any local fd96::1 remote fd96::2
 * hoplimit 64 encaplimit none`, captured with `strace -e sendmsg -xx`.
 */
const IPROUTE2_ADD = hex(
  '00000000000000000000000000000000' + // ifinfomsg
    '0800040078050000' + // IFLA_MTU 1400
    '0900030062377430' +
    '00000000' + // IFLA_IFNAME "b7t0\0"
    '94001200' + // IFLA_LINKINFO (iproute2 sets no NLA_F_NESTED)
    '0a000100697036746e6c0000' + // IFLA_INFO_KIND "ip6tnl"
    '84000200' + // IFLA_INFO_DATA
    '0500090000000000' + // IFLA_IPTUN_PROTO 0 (any)
    '14000200fd960000000000000000000000000001' + // IFLA_IPTUN_LOCAL
    '14000300fd960000000000000000000000000002' + // IFLA_IPTUN_REMOTE
    '0500040040000000' + // IFLA_IPTUN_TTL 64
    '0500060004000000' + // IFLA_IPTUN_ENCAP_LIMIT 4
    '0800070000000000' + // IFLA_IPTUN_FLOWINFO 0
    '0800080001000000' + // IFLA_IPTUN_FLAGS IGN_ENCAP_LIMIT
    '0800010000000000' + // IFLA_IPTUN_LINK 0
    '0800140000000000' + // IFLA_IPTUN_FWMARK 0
    '06000f0000000000' + // IFLA_IPTUN_ENCAP_TYPE none
    '0600100002000000' + // IFLA_IPTUN_ENCAP_FLAGS
    '0600110000000000' + // IFLA_IPTUN_ENCAP_SPORT
    '0600120000000000', // IFLA_IPTUN_ENCAP_DPORT
);
/** Offset of IFLA_INFO_DATA's contents in IPROUTE2_ADD, and the length of its FOU/GUE tail. */
const INFO_DATA_AT = 16 + 8 + 12 + 4 + 12 + 4;
const ENCAP_TAIL = 4 * 8;

const ANY: Ip6TnlParms = {
  local: 'fd96::1',
  remote: 'fd96::2',
  hopLimit: 64,
  encapLimit: 4,
  flowinfo: 0,
  flags: IP6_TNL_F_IGN_ENCAP_LIMIT,
  proto: 0,
  link: 0,
  fwmark: 0,
};

describe('ip6tnl link messages', () => {
  it('decodes what `ip link add … type ip6tnl mode any` sends', () => {
    expect(IPROUTE2_ADD.length).toBe(184);
    expect(decodeLinkMsg(IPROUTE2_ADD)).toEqual({
      ok: true,
      value: {
        family: 0,
        type: 0,
        index: 0,
        flags: 0,
        change: 0,
        name: 'b7t0',
        mtu: 1400,
        kind: 'ip6tnl',
        ip6tnl: ANY,
      },
    });
  });

  it("encodes IFLA_INFO_DATA as iproute2 does, attribute for attribute, up to iproute2's FOU/GUE tail", () => {
    const theirs = IPROUTE2_ADD.subarray(INFO_DATA_AT, IPROUTE2_ADD.length - ENCAP_TAIL);
    expect([...ip6tnlInfoData(ANY)]).toEqual([...theirs]);
  });

  it('lays out a whole RTM_NEWLINK: ifinfomsg, IFNAME, MTU, LINKINFO { KIND, DATA } (nested flags set)', () => {
    const p = encodeLinkMsg({ name: 'b7t0', mtu: 1400, ip6tnl: ANY });
    expect([...p.subarray(0, IFINFOMSG_LEN)]).toEqual(new Array(16).fill(0));
    expect([...p.subarray(16, 28)]).toEqual([9, 0, 3, 0, 0x62, 0x37, 0x74, 0x30, 0, 0, 0, 0]); // IFNAME
    expect([...p.subarray(28, 36)]).toEqual([8, 0, 4, 0, 0x78, 0x05, 0, 0]); // MTU
    const data = ip6tnlInfoData(ANY);
    expect(data.length).toBe(0x84 - 4 - ENCAP_TAIL);
    // LINKINFO: 4 + KIND (4 + "ip6tnl", padded to 12) + DATA (4 + data)
    const infoLen = 4 + 12 + 4 + data.length;
    expect([...p.subarray(36, 40)]).toEqual([infoLen, 0, IFLA_LINKINFO, 0x80]);
    expect([...p.subarray(40, 52)]).toEqual([
      10,
      0,
      IFLA_INFO_KIND,
      0,
      ...new TextEncoder().encode('ip6tnl'),
      0,
      0,
    ]);
    expect([...p.subarray(52, 56)]).toEqual([4 + data.length, 0, IFLA_INFO_DATA, 0x80]);
    expect([...p.subarray(56)]).toEqual([...data]);
    expect(p.length).toBe(36 + infoLen);
  });

  it('carries any remote as ::, IPv6-only mode as proto 41, flow info big-endian', () => {
    const d = ip6tnlInfoData(
      ip6tnlParms({ local: 'fd71::1', remote: '::', proto: IPPROTO_IPV6, flowinfo: 0x00012345 }),
    );
    const attrs = decodeAttrs(d);
    expect(attrs.ok).toBe(true);
    const byType = new Map((attrs.ok ? attrs.value : []).map((a) => [a.type, [...a.data]]));
    expect(byType.get(IFLA_IPTUN_PROTO)).toEqual([41]);
    expect(byType.get(IFLA_IPTUN_REMOTE)).toEqual(new Array(16).fill(0));
    expect(byType.get(IFLA_IPTUN_TTL)).toEqual([64]);
    expect(byType.get(IFLA_IPTUN_ENCAP_LIMIT)).toEqual([4]);
    expect(byType.get(7)).toEqual([0x00, 0x01, 0x23, 0x45]);
    expect(decodeIp6TnlInfoData(d)).toMatchObject({
      ok: true,
      value: { remote: '::', flowinfo: 0x12345, proto: 41 },
    });
  });

  it('refuses parameters the kernel would refuse or misread', () => {
    expect(() => ip6tnlInfoData(ip6tnlParms({ local: '10.0.0.1', remote: '::' }))).toThrow(RangeError);
    expect(() => ip6tnlInfoData(ip6tnlParms({ local: 'fd::1', remote: 'nope' }))).toThrow(RangeError);
    expect(() => ip6tnlInfoData(ip6tnlParms({ local: 'fd::1', remote: '::', hopLimit: 256 }))).toThrow(
      RangeError,
    );
    expect(() => ip6tnlInfoData(ip6tnlParms({ local: 'fd::1', remote: '::', proto: -1 }))).toThrow(
      RangeError,
    );
    expect(() => encodeLinkMsg({ kind: 'veth', ip6tnl: ANY })).toThrow(RangeError);
  });

  it('decodes the kernel side: capability flag bits, absent attributes as zero, IFLA_STATS64', () => {
    const kernelFlags = IP6_TNL_F_IGN_ENCAP_LIMIT | 0x30000; // IP6_TNL_F_CAP_XMIT | CAP_RCV
    const data = concat([
      nla(IFLA_IPTUN_LOCAL, hex('fd960000000000000000000000000001')),
      nlaU8(IFLA_IPTUN_TTL, 0),
      nla(
        IFLA_IPTUN_FLAGS,
        Uint8Array.of(kernelFlags & 0xff, (kernelFlags >> 8) & 0xff, kernelFlags >> 16, 0),
      ),
      nla(42, Uint8Array.of(1, 2, 3)), // unknown: skipped
    ]);
    const stats = new Uint8Array(8 * 24);
    const sv = new DataView(stats.buffer);
    for (const [i, v] of [5, 6, 500, 600, 0, 0, 1, 2].entries()) sv.setBigUint64(8 * i, BigInt(v), true);
    const payload = concat([
      encodeLinkMsg({ index: 9, flags: 0x1, name: 'X7Out_1', kind: 'ip6tnl', infoData: data }),
      nla(IFLA_STATS64, stats),
    ]);
    const d = decodeLinkMsg(payload);
    expect(d.ok && d.value.ip6tnl).toEqual({
      local: 'fd96::1',
      remote: '::',
      hopLimit: 0,
      encapLimit: 0,
      flowinfo: 0,
      flags: kernelFlags,
      proto: 0,
      link: 0,
      fwmark: 0,
    });
    expect(d.ok && d.value.stats).toEqual({
      rxPackets: 5,
      txPackets: 6,
      rxBytes: 500,
      txBytes: 600,
      rxErrors: 0,
      txErrors: 0,
      rxDropped: 1,
      txDropped: 2,
    });
    // a malformed ip6tnl INFO_DATA leaves the link listed, without `ip6tnl`
    const bad = encodeLinkMsg({
      name: 'x',
      kind: 'ip6tnl',
      infoData: nla(IFLA_IPTUN_LOCAL, Uint8Array.of(1, 2)),
    });
    const b = decodeLinkMsg(bad);
    expect(b.ok && b.value).toEqual({
      family: 0,
      type: 0,
      index: 0,
      flags: 0,
      change: 0,
      name: 'x',
      kind: 'ip6tnl',
    });
    expect(decodeIp6TnlInfoData(nla(IFLA_IPTUN_LOCAL, Uint8Array.of(1, 2))).ok).toBe(false);
    expect(decodeIp6TnlInfoData(nla(IFLA_IPTUN_FLAGS, Uint8Array.of(1))).ok).toBe(false);
  });

  it('sets the IPv6 address generation mode as `ip link set lo addrgenmode none` does, nested flags aside', () => {
    // iproute2 6.1's payload for it (index 1), captured with `strace -e sendmsg -xx`
    const theirs = hex('00000000010000000000000000000000' + '10001a00' + '0c000a00' + '0500080001000000');
    const ours = encodeLinkMsg({ index: 1, addrGenMode: IN6_ADDR_GEN_MODE_NONE });
    const unflagged = ours.slice();
    unflagged[16 + 3] = 0; // IFLA_AF_SPEC and AF_INET6 carry NLA_F_NESTED here; the kernel takes both
    unflagged[20 + 3] = 0;
    expect([...ours.subarray(16 + 2, 16 + 4)]).toEqual([IFLA_AF_SPEC, 0x80]);
    expect([...unflagged]).toEqual([...theirs]);
    expect(decodeLinkMsg(theirs)).toMatchObject({
      ok: true,
      value: { index: 1, addrGenMode: IN6_ADDR_GEN_MODE_NONE },
    });
    expect(decodeLinkMsg(ours)).toMatchObject({ ok: true, value: { addrGenMode: IN6_ADDR_GEN_MODE_NONE } });
    // a kernel dump's AF_INET6 carries much more (IFLA_INET6_FLAGS, CONF …): only the mode is read
    const dump = concat([
      encodeLinkMsg({ index: 4 }),
      nla(
        IFLA_AF_SPEC,
        concat([
          nla(2, new Uint8Array(8), true),
          nla(10, concat([nla(1, new Uint8Array(4)), nlaU8(8, 3)]), true),
        ]),
        true,
      ),
    ]);
    expect(decodeLinkMsg(dump)).toMatchObject({ ok: true, value: { index: 4, addrGenMode: 3 } });
    expect(
      decodeLinkMsg(concat([encodeLinkMsg({ index: 4 }), nla(IFLA_AF_SPEC, Uint8Array.of(9, 9))])),
    ).toMatchObject({
      ok: true,
      value: { index: 4 },
    });
  });

  const v6 = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => bytesToIp(b));
  const parms: fc.Arbitrary<Ip6TnlParms> = fc.record({
    local: v6,
    remote: v6,
    hopLimit: fc.integer({ min: 0, max: 255 }),
    encapLimit: fc.integer({ min: 0, max: 255 }),
    flowinfo: fc.integer({ min: 0, max: 0xffffffff }),
    flags: fc.integer({ min: 0, max: 0xffffffff }),
    proto: fc.constantFrom(0, 4, 41),
    link: fc.integer({ min: 0, max: 0x7fffffff }),
    fwmark: fc.integer({ min: 0, max: 0xffffffff }),
  });

  it('round-trips every parameter set through a whole link message', () => {
    fc.assert(
      fc.property(
        parms,
        fc.integer({ min: 68, max: 65535 }),
        fc.integer({ min: 0, max: 3 }),
        (p, mtu, mode) => {
          const d = decodeLinkMsg(
            encodeLinkMsg({ index: 3, name: 'X7dflt', mtu, addrGenMode: mode, ip6tnl: p }),
          );
          expect(d).toEqual({
            ok: true,
            value: {
              family: 0,
              type: 0,
              index: 3,
              flags: 0,
              change: 0,
              name: 'X7dflt',
              mtu,
              addrGenMode: mode,
              kind: 'ip6tnl',
              ip6tnl: p,
            },
          });
        },
      ),
    );
  });

  it('never throws on truncated or bit-flipped input', () => {
    const p = encodeLinkMsg({ name: 'X7dflt', mtu: 1460, ip6tnl: ANY });
    for (let n = 0; n <= p.length; n++) {
      expect(() => decodeLinkMsg(p.subarray(0, n))).not.toThrow();
      expect(() => decodeIp6TnlInfoData(ip6tnlInfoData(ANY).subarray(0, n))).not.toThrow();
    }
    for (let bit = 0; bit < p.length * 8; bit++) {
      const q = p.slice();
      q[bit >> 3]! ^= 1 << (bit & 7);
      expect(() => decodeLinkMsg(q)).not.toThrow();
    }
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (b) => void decodeLinkMsg(b)));
  });
});

describe('ip6tnl link requests', () => {
  /** A twin kernel holding links by name, answering the four link requests as rtnetlink does. */
  function twin() {
    const links = new Map<string, { index: number; payload: Uint8Array }>();
    let next = 10;
    const sock = createMemoryNetlinkSocket(NETLINK_ROUTE, (req: NlMsg) => {
      const d = decodeLinkMsg(req.payload);
      if (!d.ok) return [nlAck(req, 22)];
      const byIndex = [...links.entries()].find(([, l]) => l.index === d.value.index);
      const key = d.value.name ?? byIndex?.[0];
      const found = key !== undefined ? links.get(key) : undefined;
      switch (req.type) {
        case RTM_NEWLINK:
          if (found && req.flags & NLM_F_EXCL) return [nlAck(req, 17)];
          if (!found && !(req.flags & NLM_F_CREATE)) return [nlAck(req, 19)];
          links.set(key!, { index: found?.index ?? next++, payload: req.payload });
          return [nlAck(req)];
        case RTM_DELLINK:
          if (!found) return [nlAck(req, 19)];
          links.delete(key!);
          return [nlAck(req)];
        case RTM_GETLINK:
          if (!found) return [nlAck(req, 19)];
          return [
            nlReply(req, RTM_NEWLINK, encodeLinkMsg({ ...decodeOk(found.payload), index: found.index })),
          ];
        default:
          return [nlAck(req, 95)];
      }
    });
    return { sock, client: createNetlinkClient(sock) };
  }
  const decodeOk = (p: Uint8Array) => {
    const d = decodeLinkMsg(p);
    if (!d.ok) throw new Error(d.reason);
    return d.value;
  };

  it('creates with CREATE|EXCL, changes in place without REPLACE, reads one link back, deletes', () => {
    const { sock, client } = twin();
    rtnlNewLink(client, { name: 'X7dflt', mtu: 1460, ip6tnl: ANY });
    expect(sock.requests[0]!.flags).toBe(NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL);
    const got = rtnlGetLink(client, { name: 'X7dflt' });
    expect(got).toMatchObject({ index: 10, name: 'X7dflt', kind: 'ip6tnl', mtu: 1460, ip6tnl: ANY });
    expect(sock.requests[1]!.type).toBe(RTM_GETLINK);
    expect(sock.requests[1]!.flags).toBe(NLM_F_REQUEST);

    const moved = { ...ANY, remote: 'fd96::3' };
    rtnlSetLink(client, { index: 10, mtu: 1400, ip6tnl: moved });
    expect(sock.requests[2]!.flags).toBe(NLM_F_REQUEST | NLM_F_ACK);
    expect(rtnlGetLink(client, { index: 10 })).toMatchObject({ mtu: 1400, ip6tnl: moved });

    expect(() => rtnlNewLink(client, { name: 'X7dflt', ip6tnl: ANY })).toThrow(
      expect.objectContaining({ errno: 17 }),
    );
    rtnlDelLink(client, { index: 10 });
    expect(sock.requests.at(-1)!.type).toBe(RTM_DELLINK);
    expect(rtnlGetLink(client, { name: 'X7dflt' })).toBeUndefined();
    expect(() => rtnlDelLink(client, { name: 'X7dflt' })).toThrow(expect.objectContaining({ errno: 19 }));
  });

  it('passes other errors of a single GET on', () => {
    const c = createNetlinkClient(createMemoryNetlinkSocket(NETLINK_ROUTE, (req) => [nlAck(req, 1)]));
    expect(() => rtnlGetLink(c, { name: 'x' })).toThrow(expect.objectContaining({ errno: 1 }));
    const silent = createNetlinkClient(
      createMemoryNetlinkSocket(NETLINK_ROUTE, (req) => [nlReply(req, RTM_NEWLINK, Uint8Array.of(1))]),
    );
    expect(() => rtnlGetLink(silent, { name: 'x' })).toThrow(
      expect.objectContaining({ code: 'ERR_NETLINK_PROTOCOL' }),
    );
  });
});
