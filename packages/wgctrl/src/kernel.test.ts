/**
 * The kernel backend against the attribute layout of linux/wireguard.h. Attribute numbers are
 * written out here from the header (not imported from kernel.ts), so a wrong constant fails.
 */
import {
  attrMap,
  concat,
  createMemoryNetlinkSocket,
  createNetlinkClient,
  decodeAttrs,
  decodeGenl,
  encodeGenl,
  encodeLinkMsg,
  NETLINK_GENERIC,
  NETLINK_ROUTE,
  NLM_F_DUMP,
  type NlAttr,
  type NlMsg,
  nlAck,
  nla,
  nlaNested,
  nlaString,
  nlaU8,
  nlaU16,
  nlaU32,
  nlaU64,
  nlDone,
  nlReply,
  readString,
} from '@bmx7/netlink';
import { describe, expect, it } from 'vitest';
import { parseEndpoint } from './addr.js';
import {
  createKernelBackend,
  decodeSockaddr,
  decodeWgGetDump,
  encodeSockaddr,
  encodeWgSet,
} from './kernel.js';
import { validateConfig } from './state.js';
import { wgctrlOver } from './wgctrl.js';

// linux/wireguard.h
const H = {
  CMD_GET: 0,
  CMD_SET: 1,
  DEV: {
    IFINDEX: 1,
    IFNAME: 2,
    PRIVATE_KEY: 3,
    PUBLIC_KEY: 4,
    FLAGS: 5,
    LISTEN_PORT: 6,
    FWMARK: 7,
    PEERS: 8,
  },
  DEV_F_REPLACE_PEERS: 1,
  PEER: {
    PUBLIC_KEY: 1,
    PRESHARED_KEY: 2,
    FLAGS: 3,
    ENDPOINT: 4,
    KEEPALIVE: 5,
    HANDSHAKE: 6,
    RX: 7,
    TX: 8,
    ALLOWEDIPS: 9,
    PROTOCOL_VERSION: 10,
  },
  PEER_F: { REMOVE_ME: 1, REPLACE_ALLOWEDIPS: 2, UPDATE_ONLY: 4 },
  AIP: { FAMILY: 1, IPADDR: 2, CIDR_MASK: 3 },
} as const;
const WG_FAMILY_ID = 0x1b;
const CTRL = { ID: 0x10, CMD_NEWFAMILY: 1, ATTR_FAMILY_ID: 1, ATTR_FAMILY_NAME: 2 };

const K = (n: number) => new Uint8Array(32).fill(n);
const b64 = (n: number) => Buffer.from(K(n)).toString('base64');

function attrs(buf: Uint8Array): NlAttr[] {
  const r = decodeAttrs(buf);
  if (!r.ok) throw new Error(r.reason);
  return r.value;
}
const u32 = (a: NlAttr) => new DataView(a.data.buffer, a.data.byteOffset).getUint32(0, true);
const u16 = (a: NlAttr) => new DataView(a.data.buffer, a.data.byteOffset).getUint16(0, true);

function aip(family: number, addr: number[], cidr: number): Uint8Array {
  return nlaNested(0, [
    nlaU16(H.AIP.FAMILY, family),
    nla(H.AIP.IPADDR, Uint8Array.from(addr)),
    nlaU8(H.AIP.CIDR_MASK, cidr),
  ]);
}

/** A GET_DEVICE dump of wg0 split as the kernel splits it: peer 2's allowed IPs run over into message 2. */
function handBuiltDump(): Uint8Array[] {
  const hs = new Uint8Array(16);
  new DataView(hs.buffer).setBigInt64(0, 1700000000n, true);
  new DataView(hs.buffer).setBigInt64(8, 500000000n, true);
  const sin6 = new Uint8Array(28);
  new DataView(sin6.buffer).setUint16(0, 10, true);
  new DataView(sin6.buffer).setUint16(2, 51820, false);
  sin6.set([0xfd, 0x77, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2], 8);
  const dev = [
    nlaU32(H.DEV.IFINDEX, 5),
    nlaString(H.DEV.IFNAME, 'wg0'),
    nla(H.DEV.PRIVATE_KEY, K(1)),
    nla(H.DEV.PUBLIC_KEY, K(9)),
    nlaU16(H.DEV.LISTEN_PORT, 51820),
    nlaU32(H.DEV.FWMARK, 0x42),
  ];
  const m1 = concat([
    ...dev,
    nlaNested(H.DEV.PEERS, [
      nlaNested(0, [
        nla(H.PEER.PUBLIC_KEY, K(2)),
        nla(H.PEER.PRESHARED_KEY, K(0)),
        nla(H.PEER.ENDPOINT, sin6),
        nlaU16(H.PEER.KEEPALIVE, 25),
        nla(H.PEER.HANDSHAKE, hs),
        nlaU64(H.PEER.RX, 1000n),
        nlaU64(H.PEER.TX, 2000n),
        nlaU32(H.PEER.PROTOCOL_VERSION, 1),
        nlaNested(H.PEER.ALLOWEDIPS, [aip(2, [10, 77, 2, 0], 24)]),
      ]),
      nlaNested(0, [
        nla(H.PEER.PUBLIC_KEY, K(3)),
        nla(H.PEER.PRESHARED_KEY, K(4)),
        nlaNested(H.PEER.ALLOWEDIPS, [aip(2, [10, 0, 0, 1], 32)]),
      ]),
    ]),
  ]);
  // The second message repeats the device and continues peer 3 with the rest of its allowed IPs.
  const m2 = concat([
    ...dev,
    nlaNested(H.DEV.PEERS, [
      nlaNested(0, [
        nla(H.PEER.PUBLIC_KEY, K(3)),
        nlaNested(H.PEER.ALLOWEDIPS, [aip(10, [0xfd, 0, ...new Array(13).fill(0), 1], 128)]),
      ]),
      nlaNested(0, [nla(H.PEER.PUBLIC_KEY, K(5))]),
    ]),
  ]);
  return [m1, m2].map((a) => encodeGenl({ cmd: H.CMD_GET, version: 1, attrs: a }));
}

/** Plays the kernel: nlctrl resolves "wireguard", GET answers the dump above, SET is recorded. */
function fakeKernel() {
  const sets: NlAttr[][] = [];
  const genl = createMemoryNetlinkSocket(
    NETLINK_GENERIC,
    (req: NlMsg) => {
      if (req.type === CTRL.ID) {
        const g = decodeGenl(req.payload);
        const name = g.ok && attrMap(attrs(g.value.attrs)).get(CTRL.ATTR_FAMILY_NAME);
        if (!name || readString(name) !== 'wireguard') return [nlAck(req, 2)];
        const payload = encodeGenl({
          cmd: CTRL.CMD_NEWFAMILY,
          version: 2,
          attrs: concat([
            nlaU16(CTRL.ATTR_FAMILY_ID, WG_FAMILY_ID),
            nlaString(CTRL.ATTR_FAMILY_NAME, 'wireguard'),
          ]),
        });
        return [nlReply(req, CTRL.ID, payload), nlAck(req)];
      }
      if (req.type !== WG_FAMILY_ID) return [nlAck(req, 22)];
      const g = decodeGenl(req.payload);
      if (!g.ok) return [nlAck(req, 22)];
      const a = attrMap(attrs(g.value.attrs));
      if (readString(a.get(H.DEV.IFNAME)!) !== 'wg0') return [nlAck(req, 19)];
      if (g.value.cmd === H.CMD_GET) {
        if ((req.flags & NLM_F_DUMP) !== NLM_F_DUMP) return [nlAck(req, 95)];
        return [...handBuiltDump().map((p) => nlReply(req, WG_FAMILY_ID, p, true)), nlDone(req)];
      }
      sets.push(attrs(g.value.attrs));
      return [nlAck(req)];
    },
    { datagramBytes: 300 },
  );
  const rtnl = createMemoryNetlinkSocket(NETLINK_ROUTE, (req) => [
    nlReply(req, 16, encodeLinkMsg({ index: 5, name: 'wg0', kind: 'wireguard' }), true),
    nlReply(req, 16, encodeLinkMsg({ index: 6, name: 'veth0', kind: 'veth' }), true),
    nlDone(req),
  ]);
  return { sets, genl, rtnl };
}

describe('kernel sockaddr', () => {
  it('encodes sockaddr_in and sockaddr_in6 with the port in network order', () => {
    const v4 = parseEndpoint('192.0.2.1:51820');
    const v6 = parseEndpoint('[fe80::1%7]:443');
    if (!v4.ok || !v6.ok) throw new Error();
    expect([...encodeSockaddr(v4.value)]).toEqual([2, 0, 0xca, 0x6c, 192, 0, 2, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
    const s6 = encodeSockaddr(v6.value);
    expect(s6.length).toBe(28);
    expect([...s6.subarray(0, 4)]).toEqual([10, 0, 1, 0xbb]);
    expect(s6[24]).toBe(7);
    expect(decodeSockaddr(s6)).toEqual(v6);
    expect(decodeSockaddr(Uint8Array.of(2, 0, 0)).ok).toBe(false);
    expect(decodeSockaddr(new Uint8Array(16))).toEqual({ ok: true, value: null });
  });
});

describe('kernel GET_DEVICE', () => {
  it('merges a multi-part dump (a peer continued in the next message) into one device', () => {
    const d = decodeWgGetDump(handBuiltDump());
    if (!d.ok) throw new Error(d.reason);
    expect(d.value).toMatchObject({
      name: 'wg0',
      privateKey: K(1),
      publicKey: K(9),
      listenPort: 51820,
      fwmark: 0x42,
    });
    expect(d.value.peers.map((p) => p.publicKey[0])).toEqual([2, 3, 5]);
    expect(d.value.peers[0]).toMatchObject({
      presharedKey: null,
      persistentKeepalive: 25,
      lastHandshakeMs: 1700000000500,
      rxBytes: 1000,
      txBytes: 2000,
    });
    expect(d.value.peers[1]!.presharedKey).toEqual(K(4));
    expect(d.value.peers[1]!.allowedIps).toHaveLength(2);
  });

  it('never throws on a cut or bit-flipped dump message', () => {
    const [m1] = handBuiltDump();
    for (let n = 0; n < m1!.length; n += 3) expect(() => decodeWgGetDump([m1!.subarray(0, n)])).not.toThrow();
    for (let i = 0; i < m1!.length * 8; i += 5) {
      const c = m1!.slice();
      c[i >> 3]! ^= 1 << (i & 7);
      expect(() => decodeWgGetDump([c])).not.toThrow();
    }
    expect(decodeWgGetDump([]).ok).toBe(false);
  });

  it('reads the device through the backend as wg shows it', async () => {
    const k = fakeKernel();
    const w = wgctrlOver(
      createKernelBackend({
        sockets: { genl: createNetlinkClient(k.genl), rtnl: createNetlinkClient(k.rtnl) },
      }),
      { reconcile: true },
    );
    expect(await w.listDevices()).toEqual(['wg0']);
    const dev = await w.getDevice('wg0');
    expect(dev.publicKey).toBe(b64(9));
    expect(dev.peers[0]).toEqual({
      publicKey: b64(2),
      hasPresharedKey: false,
      endpoint: '[fd77:1::2]:51820',
      allowedIps: ['10.77.2.0/24'],
      persistentKeepalive: 25,
      lastHandshakeMs: 1700000000500,
      rxBytes: 1000,
      txBytes: 2000,
    });
    expect(dev.peers[1]).toMatchObject({ hasPresharedKey: true, allowedIps: ['10.0.0.1/32', 'fd00::1/128'] });
    await expect(w.getDevice('wg1')).rejects.toMatchObject({
      code: 'ERR_WG_NO_DEVICE',
      device: 'wg1',
      backend: 'kernel',
      errno: 19,
    });
    await w.close();
  });
});

describe('kernel SET_DEVICE', () => {
  it('lays out device and peer attributes as linux/wireguard.h defines them', async () => {
    const k = fakeKernel();
    const w = wgctrlOver(
      createKernelBackend({
        sockets: { genl: createNetlinkClient(k.genl), rtnl: createNetlinkClient(k.rtnl) },
      }),
      { reconcile: true },
    );
    await w.configureDevice('wg0', {
      privateKey: b64(1),
      listenPort: 51821,
      fwmark: 9,
      replacePeers: true,
      peers: [
        {
          publicKey: b64(6),
          presharedKey: b64(7),
          endpoint: '192.0.2.1:51820',
          persistentKeepalive: 15,
          allowedIps: ['10.1.0.0/16', 'fd01::/48'],
        },
        { publicKey: b64(2), remove: true },
      ],
    });
    expect(k.sets).toHaveLength(1);
    const m = attrMap(k.sets[0]!);
    expect(readString(m.get(H.DEV.IFNAME)!)).toBe('wg0');
    expect(m.get(H.DEV.PRIVATE_KEY)!.data).toEqual(K(1));
    expect(u16(m.get(H.DEV.LISTEN_PORT)!)).toBe(51821);
    expect(u32(m.get(H.DEV.FWMARK)!)).toBe(9);
    expect(u32(m.get(H.DEV.FLAGS)!)).toBe(H.DEV_F_REPLACE_PEERS);
    const peers = m.get(H.DEV.PEERS)!;
    expect(peers.nested).toBe(true);
    const [p1, p2] = attrs(peers.data).map((p) => attrMap(attrs(p.data)));
    expect(p1!.get(H.PEER.PUBLIC_KEY)!.data).toEqual(K(6));
    expect(p1!.get(H.PEER.PRESHARED_KEY)!.data).toEqual(K(7));
    expect(u32(p1!.get(H.PEER.FLAGS)!)).toBe(0);
    expect([...p1!.get(H.PEER.ENDPOINT)!.data.subarray(0, 8)]).toEqual([2, 0, 0xca, 0x6c, 192, 0, 2, 1]);
    expect(u16(p1!.get(H.PEER.KEEPALIVE)!)).toBe(15);
    const ips = attrs(p1!.get(H.PEER.ALLOWEDIPS)!.data).map((a) => attrMap(attrs(a.data)));
    expect(
      ips.map((a) => [
        u16(a.get(H.AIP.FAMILY)!),
        [...a.get(H.AIP.IPADDR)!.data],
        a.get(H.AIP.CIDR_MASK)!.data[0],
      ]),
    ).toEqual([
      [2, [10, 1, 0, 0], 16],
      [10, [0xfd, 1, ...new Array(14).fill(0)], 48],
    ]);
    expect(u32(p2!.get(H.PEER.FLAGS)!)).toBe(H.PEER_F.REMOVE_ME);
    expect(p2!.has(H.PEER.ALLOWEDIPS)).toBe(false);
    await w.close();
  });

  it('splits a large SET into messages under the budget that rebuild the same peers', () => {
    const peers = Array.from({ length: 300 }, (_, i) => ({
      publicKey: Buffer.from(new Uint8Array(32).fill(i % 256).map((x, j) => (j === 0 ? i >> 8 : x))).toString(
        'base64',
      ),
      endpoint: `10.0.${i >> 8}.${i & 255}:51820`,
      allowedIps:
        i === 7
          ? Array.from({ length: 400 }, (_, j) => `10.${100 + (j >> 8)}.${j & 255}.0/24`)
          : [`10.200.${i >> 8}.${i & 255}/32`],
    }));
    const ch = validateConfig('wg0', { privateKey: b64(1), replacePeers: true, peers });
    const msgs = encodeWgSet('wg0', ch, 4096);
    expect(msgs.length).toBeGreaterThan(5);
    for (const msg of msgs) expect(msg.length).toBeLessThanOrEqual(4 + 4096);
    const flags = msgs.map((msg) => {
      const g = decodeGenl(msg);
      const f = g.ok ? attrMap(attrs(g.value.attrs)).get(H.DEV.FLAGS) : undefined;
      return f ? u32(f) : undefined;
    });
    // REPLACE_PEERS in the first message only: later ones must not wipe the peers just sent.
    expect(flags[0]).toBe(H.DEV_F_REPLACE_PEERS);
    expect(flags.slice(1).every((f) => f === undefined)).toBe(true);
    // Only the first message carries the private key.
    expect(
      msgs.filter((msg) => {
        const g = decodeGenl(msg);
        return g.ok && attrMap(attrs(g.value.attrs)).has(H.DEV.PRIVATE_KEY);
      }),
    ).toHaveLength(1);
    // SET and GET share the layout, so the dump merger must rebuild the peers from the parts.
    const rebuilt = decodeWgGetDump(msgs);
    if (!rebuilt.ok) throw new Error(rebuilt.reason);
    expect(rebuilt.value.peers).toHaveLength(300);
    expect(rebuilt.value.peers[7]!.allowedIps).toHaveLength(400);
    expect(rebuilt.value.peers.map((p) => p.allowedIps.length).reduce((a, b) => a + b)).toBe(699);
    // A continued peer is sent with UPDATE_ONLY, so it can never be created by a continuation.
    const cont = msgs
      .slice(1)
      .flatMap((msg) => {
        const g = decodeGenl(msg);
        const p = g.ok ? attrMap(attrs(g.value.attrs)).get(H.DEV.PEERS) : undefined;
        return p ? attrs(p.data).map((x) => attrMap(attrs(x.data))) : [];
      })
      .filter((p) => p.get(H.PEER.PUBLIC_KEY)!.data[1] === 7 && p.get(H.PEER.PUBLIC_KEY)!.data[0] === 0);
    expect(cont.length).toBeGreaterThan(0);
    expect(cont.every((p) => u32(p.get(H.PEER.FLAGS)!) === H.PEER_F.UPDATE_ONLY)).toBe(true);
  });
});
