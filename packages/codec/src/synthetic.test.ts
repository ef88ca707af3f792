/**
 * Reference-like traffic the fixtures do not hold: node keys RSA512..4096, DHM 3072, several
 * neighbours (HELLO_REPLY frames, 17 MACs), TOPOLOGY, SMS, INFO, TRUSTS/SUPPORTS and tunnel TLVs,
 * hop-history OGMs; built with the reference's sender algorithm, then decoded, resolved and
 * re-encoded.
 */
import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { buildDescription, makeDescription } from './build.js';
import { bytesEqual, fromLatin1, ip4FromString, ip6FromString } from './bytes.js';
import { FRAME_TYPE, MAX_UDPD_SIZE, RSA_KEY_LEN, TLV_TYPE } from './constants.js';
import { contentHash, expandDescription, hashKey } from './content.js';
import type { Frame } from './frames.js';
import { packetHeader } from './header.js';
import { fm16, umetricToFm8 } from './numbers.js';
import { decodePacket, encodePacket } from './packet.js';
import type { TlvValue } from './tlv.js';
import { deflate, inflate } from './zlib.js';

const sha224 = (d: Uint8Array) => new Uint8Array(createHash('sha224').update(d).digest());
const rnd = (n: number) => new Uint8Array(randomBytes(n));

function node(keyType: number, dhmType: number) {
  const nodeKey = { type: TLV_TYPE.NODE_PUBKEY, keyType, key: rnd(RSA_KEY_LEN[keyType]!) } as const;
  const tlvs: TlvValue[] = [
    { type: TLV_TYPE.RSA_LINK_PUBKEY, keyType: 5, key: rnd(192) },
    { type: TLV_TYPE.DHM_LINK_PUBKEY, keyType: dhmType, gx: rnd(dhmType === 18 ? 384 : 256) },
    { type: TLV_TYPE.SUPPORTS, entries: [{ nodeId: rnd(28), level: 2, reserved: 0 }] },
    {
      type: TLV_TYPE.TRUSTS,
      entries: Array.from({ length: 60 }, () => ({ nodeId: rnd(28), level: 3, reserved: 0 })),
    },
    { type: TLV_TYPE.LLIP, addresses: [ip6FromString('fe80::1'), ip6FromString('fe80::2')] },
    { type: TLV_TYPE.HNA6, entries: [{ prefixLen: 128, flags: 0, address: ip6FromString('fd70::1') }] },
    { type: TLV_TYPE.TUN6, endpoints: [ip6FromString('fd71::1')] },
    {
      type: TLV_TYPE.TUN4IN6_INGRESS,
      entries: [{ tun6Id: 0, prefixLen: 24, prefix: ip4FromString('10.1.2.0') }],
    },
    {
      type: TLV_TYPE.TUN4IN6_NET,
      entries: [
        {
          tun6Id: 0,
          protoType: 0,
          bandwidth: umetricToFm8(1000),
          networkLen: 0,
          network: ip4FromString('0.0.0.0'),
        },
      ],
    },
    {
      type: TLV_TYPE.TUN6IN6_NET,
      entries: [
        { tun6Id: 0, protoType: 0, bandwidth: 0xa3, networkLen: 16, network: ip6FromString('fdbb::') },
      ],
    },
    {
      type: TLV_TYPE.TOPOLOGY,
      topoType: 0,
      reserved: 0,
      links: Array.from({ length: 5 }, (_, i) => ({
        nbId: rnd(28),
        nbDescSqn: 100 + i,
        nbIdx: 1,
        idx: 2,
        txBw: 0xa3,
        rxBw: 0x9f,
        tq: 255,
        rq: 250,
        signal: -60,
        noise: -95,
        channel: 36,
        reserved1: 0,
        reserved2: 0,
      })),
    },
    {
      type: TLV_TYPE.INFO,
      infoType: 0,
      infoOffset: 20,
      codeRevision: 0x12345678,
      reservedA: 0,
      reservedB: 0,
      reservedC: 0,
      name: 'node-with-a-longer-name',
      mail: '',
      extra: new Uint8Array(0),
    },
    // 8 kB of incompressible SMS data: several chunks, nesting 2
    {
      type: TLV_TYPE.SMS,
      messages: [
        { name: 'hello', data: fromLatin1('hi there') },
        { name: 'blob', data: rnd(8000) },
      ],
    },
  ];
  const version = {
    cv: 21,
    capabilities: 2,
    bootSqn: 111,
    descSqn: 112,
    ogmSqnRange: 6000,
    anchorLink: rnd(14),
    anchorSeed: rnd(14),
  };
  // an RSA4096 root has 256 bytes less room: leave out two TLVs, as the reference would
  const fit =
    keyType === 8
      ? tlvs.filter((t) => t.type !== TLV_TYPE.SUPPORTS && t.type !== TLV_TYPE.TUN4IN6_INGRESS)
      : tlvs;
  return buildDescription({ nodeKey, version, tlvs: fit, hash: sha224, deflate });
}

describe('reference-like traffic beyond the fixtures', () => {
  for (const keyType of [1, 2, 3, 4, 5, 6, 7, 8]) {
    it(`node key type ${keyType} (${RSA_KEY_LEN[keyType]! * 8} bit), DHM ${keyType % 2 ? 3072 : 2048}: description, contents, resolution`, () => {
      const b = node(keyType, keyType % 2 ? 18 : 17);
      const signed = b.withSignature(rnd(RSA_KEY_LEN[keyType]!));
      const d = makeDescription(b.tlvs);
      if (!d.ok) throw new Error(d.reason);
      const id = d.value.nodeId;
      const hdr = packetHeader(id);
      // DESC_ADV in its own unsigned packet, then one CONTENT_ADV per item that fits one
      const descPkt = encodePacket(hdr, [
        { type: FRAME_TYPE.DESC_ADV, description: { ...d.value, tlvs: d.value.tlvs } },
      ]);
      expect(descPkt.length).toBeLessThanOrEqual(MAX_UDPD_SIZE);
      const dp = decodePacket(descPkt);
      if (!dp.ok) throw new Error(dp.reason);
      expect(bytesEqual(encodePacket(dp.value.header, dp.value.frames), descPkt)).toBe(true);
      const served = b.items.filter((i) => i.body.length <= 1197);
      const store = new Map<string, (typeof served)[number]>();
      for (const it of served) {
        const pkt = encodePacket(hdr, [
          { type: FRAME_TYPE.CONTENT_ADV, gzip: it.gzip, nesting: it.nesting, reserved: 0, body: it.body },
        ]);
        const r = decodePacket(pkt);
        if (!r.ok) throw new Error(r.reason);
        const f = r.value.frames[0]!;
        if (f.type !== FRAME_TYPE.CONTENT_ADV) throw new Error('not CONTENT_ADV');
        const h = contentHash(sha224, f.body, f.nesting, f.gzip);
        store.set(hashKey(h), { hash: h, nesting: f.nesting, gzip: f.gzip, body: f.body });
      }
      const x = expandDescription(d.value, (h) => store.get(hashKey(h)), { hash: sha224, inflate });
      if (!x.ok) throw new Error(x.reason);
      expect(x.value.virtLength).toBe(d.value.version.virtLength);
      expect(x.value.virtContents).toBe(d.value.version.virtContents);
      const types = x.value.tlvs.map((t) => t.type);
      const all = [1, 2, 3, 5, 6, 9, 10, 14, 15, 17, 18, 22, 23, 27, 28, 29];
      expect(types).toEqual(keyType === 8 ? all.filter((t) => t !== 9 && t !== 18) : all);
      const sms = x.value.tlvs.find((t) => t.type === TLV_TYPE.SMS);
      expect(sms?.type === TLV_TYPE.SMS && sms.messages[1]!.data.length).toBe(8000);
      expect(sms?.ref?.nesting).toBe(2);
      expect(signed.length).toBe(b.bytes.length);
    });
  }

  it('a neighbour-rich signed packet: 17 DHM MACs, three HELLO_REPLY frames, OGMs with hop history, requests', () => {
    const hop = (ch: number) => ({ metric: fm16(20, 11), directional: false, channel: ch });
    const frames: Frame[] = [
      {
        type: FRAME_TYPE.SIGNATURE_ADV,
        descSqn: 1411,
        burstSqn: 70000,
        devIdx: 3,
        messages: Array.from({ length: 17 }, () => ({ keyType: 18, signature: rnd(14) })),
      },
      { type: FRAME_TYPE.OGM_AGG_SQN_ADV, max: 65535, size: 256 },
      { type: FRAME_TYPE.HELLO_ADV, helloSqn: 65535 },
      ...[1, 2, 3].map(
        (n): Frame => ({
          type: FRAME_TYPE.HELLO_REPLY_DHASH,
          replies: Array.from({ length: n }, (_, i) => ({
            dhash: rnd(28),
            rxLq: 5 * i,
            receiverDevIdx: i + 1,
          })),
        }),
      ),
      { type: FRAME_TYPE.IID_ADV, advs: [{ iid: 2, descSqn: 112, chainOgm: rnd(14), nodeId: rnd(28) }] },
      {
        type: FRAME_TYPE.OGM_ADV,
        aggSqn: 65535,
        ogms: [
          { chainOgm: rnd(14), iid: 1, hops: 0, metric: fm16(31, 56), history: [] },
          { chainOgm: rnd(14), iid: 7, hops: 3, metric: fm16(0, 1), history: [hop(36), hop(11), hop(255)] },
          {
            chainOgm: rnd(14),
            iid: 16382,
            hops: 62,
            metric: fm16(22, 3),
            history: Array.from({ length: 10 }, (_, i) => hop(i + 1)),
          },
        ],
      },
      { type: FRAME_TYPE.OGM_ADV, aggSqn: 65534, ogms: [] },
      { type: FRAME_TYPE.OGM_REQ, dest: rnd(28), aggSqns: [65533, 65534] },
      { type: FRAME_TYPE.IID_REQ, dest: rnd(28), iids: [1, 2, 3] },
      { type: FRAME_TYPE.DESC_REQ, dest: rnd(28), nodeIds: [rnd(28)] },
      { type: FRAME_TYPE.CONTENT_REQ, dest: rnd(28), hashes: Array.from({ length: 5 }, () => rnd(28)) },
    ];
    const pkt = encodePacket(packetHeader(rnd(28)), frames);
    const r = decodePacket(pkt);
    if (!r.ok) throw new Error(r.reason);
    expect(r.value.frames.map(({ offset: _o, length: _l, ...f }) => f)).toEqual(frames);
    expect(r.value.signature?.messagesLength).toBe(17 * 15);
  });
});
