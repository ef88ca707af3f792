import { describe, expect, it } from 'vitest';
import { concatBytes, put16 } from './bytes.js';
import {
  DESC_ADV_MIN_SIZE,
  FRAME_TYPE,
  MAX_DESC_ROOT_SIZE,
  MAX_UDPD_SIZE,
  MSG_SIZE,
  REF_CONTENT_BODY_SIZE_MAX,
  SHA_LEN,
  TLV_TYPE,
} from './constants.js';
import {
  type DescTlv,
  decodeContentRef,
  decodeDescription,
  encodeContentRef,
  encodeDescription,
} from './description.js';
import { decodeFrameData, encodeFrameData, type Frame, type OgmAdvFrame } from './frames.js';
import { decodeFrameHeaderWord, frameHeaderWord, packetHeader } from './header.js';
import { decodePacket, encodeFrame, encodePacket } from './packet.js';
import { decodeTlvBody } from './tlv.js';

const id = new Uint8Array(SHA_LEN).fill(1);
const sig: Frame = { type: FRAME_TYPE.SIGNATURE_ADV, descSqn: 1, burstSqn: 1, devIdx: 1, messages: [] };

describe('size edge cases', () => {
  it('frame header word (4.2 self-test example)', () => {
    expect(frameHeaderWord(0x1b, 0x492)).toBe(0xdc92);
    expect(decodeFrameHeaderWord(0xdc92)).toEqual({ type: 0x1b, length: 0x492 });
    expect(() => frameHeaderWord(32, 3)).toThrow();
    expect(() => frameHeaderWord(1, 2048)).toThrow();
  });

  it('packets of exactly 1232 bytes decode, larger ones neither decode nor encode', () => {
    const fill = (n: number): Frame => ({ type: FRAME_TYPE.TRASH_ADV, data: new Uint8Array(n) });
    const max = encodePacket(packetHeader(id), [fill(MAX_UDPD_SIZE - 30 - 2)]);
    expect(max.length).toBe(MAX_UDPD_SIZE);
    expect(decodePacket(max).ok).toBe(true);
    expect(() => encodePacket(packetHeader(id), [fill(MAX_UDPD_SIZE - 30 - 1)])).toThrow();
    expect(decodePacket(concatBytes([max, Uint8Array.of(0x08, 3, 0)])).ok).toBe(false);
  });

  it('CONTENT_ADV bodies of 1 and 1197 bytes, not 0 or 1198', () => {
    const ca = (n: number) => Uint8Array.of(0, ...new Uint8Array(n));
    expect(decodeFrameData(FRAME_TYPE.CONTENT_ADV, ca(1)).ok).toBe(true);
    expect(decodeFrameData(FRAME_TYPE.CONTENT_ADV, ca(REF_CONTENT_BODY_SIZE_MAX)).ok).toBe(true);
    expect(decodeFrameData(FRAME_TYPE.CONTENT_ADV, ca(0)).ok).toBe(false);
    expect(decodeFrameData(FRAME_TYPE.CONTENT_ADV, ca(REF_CONTENT_BODY_SIZE_MAX + 1)).ok).toBe(false);
    expect(decodeFrameData(FRAME_TYPE.CONTENT_ADV, Uint8Array.of(2, ...new Uint8Array(56))).ok).toBe(true);
    expect(decodeFrameData(FRAME_TYPE.CONTENT_ADV, Uint8Array.of(2, ...new Uint8Array(57))).ok).toBe(false);
  });

  it('SIGNATURE with 40 DHM MACs, with an RSA4096 signature, and with none', () => {
    for (const messages of [
      Array.from({ length: 40 }, (_, i) => ({ keyType: 17, signature: new Uint8Array(14).fill(i) })),
      [{ keyType: 8, signature: new Uint8Array(512) }],
      [{ keyType: 18, signature: new Uint8Array(14) }],
      [],
    ]) {
      const f = { ...sig, messages } as Frame;
      const r = decodeFrameData(8, encodeFrameData(f));
      expect(r.ok && r.value).toEqual(f);
    }
    // a truncated RSA message stays as rest bytes
    const r = decodeFrameData(8, Uint8Array.of(...new Uint8Array(9), 4, 1, 2, 3));
    expect(r.ok && r.value).toMatchObject({ messages: [], rest: Uint8Array.of(4, 1, 2, 3) });
    expect(decodeFrameData(8, new Uint8Array(8)).ok).toBe(false);
  });

  it('OGMs with 10 hop-history entries parse, 11 do not; IID uses 14 bits', () => {
    const hop = { metric: (5 << 8) | 7, directional: true, channel: 36 };
    const ogm = (n: number) => ({
      chainOgm: new Uint8Array(14),
      iid: 0x3fff,
      hops: 63,
      metric: (31 << 8) | 56,
      history: Array(n).fill(hop),
    });
    const f10: OgmAdvFrame = { type: FRAME_TYPE.OGM_ADV, aggSqn: 0xffff, ogms: [ogm(10), ogm(0)] };
    const r = decodeFrameData(21, encodeFrameData(f10));
    expect(r.ok && r.value).toEqual(f10);
    const b10 = encodeFrameData({ ...f10, ogms: [ogm(10)] });
    // set "more" on the 10th entry and append an 11th
    b10[2 + 18 + 9 * 3]! |= 0x80;
    const b11 = concatBytes([b10, Uint8Array.of(0x01, 0x47, 1)]);
    const r11 = decodeFrameData(21, b11);
    expect(r11.ok && r11.value).toMatchObject({ ogms: [], unparsed: b11.subarray(2) });
    expect(() => encodeFrameData({ ...f10, ogms: [ogm(11)] })).toThrow();
    expect(() => encodeFrameData({ ...f10, ogms: [{ ...ogm(0), iid: 0x4000 }] })).toThrow();
  });

  it('fixed-size TLV messages: exact multiples only', () => {
    const cases: [number, number][] = [
      [TLV_TYPE.LLIP, MSG_SIZE.LLIP],
      [TLV_TYPE.HNA6, MSG_SIZE.HNA6],
      [TLV_TYPE.TRUSTS, MSG_SIZE.TRUST],
      [TLV_TYPE.SUPPORTS, MSG_SIZE.TRUST],
      [TLV_TYPE.TUN6, MSG_SIZE.TUN6],
      [TLV_TYPE.TUN4IN6_INGRESS, MSG_SIZE.TUN4IN6_INGRESS],
      [TLV_TYPE.TUN6IN6_INGRESS, MSG_SIZE.TUN6IN6_INGRESS],
      [TLV_TYPE.TUN4IN6_SRC, MSG_SIZE.TUN4IN6_SRC],
      [TLV_TYPE.TUN6IN6_SRC, MSG_SIZE.TUN6IN6_SRC],
      [TLV_TYPE.TUN4IN6_NET, MSG_SIZE.TUN4IN6_NET],
      [TLV_TYPE.TUN6IN6_NET, MSG_SIZE.TUN6IN6_NET],
      [TLV_TYPE.VERSION, 44],
    ];
    for (const [type, size] of cases) {
      expect(decodeTlvBody(type, new Uint8Array(size)).ok, `${type}`).toBe(true);
      expect(decodeTlvBody(type, new Uint8Array(size - 1)).ok, `${type}`).toBe(false);
      expect(decodeTlvBody(type, new Uint8Array(size + 1)).ok, `${type}`).toBe(false);
    }
    expect(decodeTlvBody(TLV_TYPE.METRIC, new Uint8Array(35)).ok).toBe(false);
    expect(decodeTlvBody(TLV_TYPE.METRIC, new Uint8Array(40)).ok).toBe(true);
    expect(decodeTlvBody(TLV_TYPE.TOPOLOGY, new Uint8Array(2)).ok).toBe(true);
    expect(decodeTlvBody(TLV_TYPE.TOPOLOGY, new Uint8Array(2 + 44)).ok).toBe(true);
    expect(decodeTlvBody(TLV_TYPE.TOPOLOGY, new Uint8Array(2 + 43)).ok).toBe(false);
    expect(decodeTlvBody(TLV_TYPE.INFO, new Uint8Array(19)).ok).toBe(false);
    const info = new Uint8Array(22);
    info[18] = 2;
    expect(decodeTlvBody(TLV_TYPE.INFO, info).ok).toBe(true);
    info[19] = 1;
    expect(decodeTlvBody(TLV_TYPE.INFO, info).ok).toBe(false);
    const sms = new Uint8Array(20 + 3);
    sms[19] = 3;
    expect(decodeTlvBody(TLV_TYPE.SMS, sms).ok).toBe(true);
    sms[19] = 4;
    expect(decodeTlvBody(TLV_TYPE.SMS, sms).ok).toBe(false);
  });

  it('content reference headers follow the reference checks', () => {
    const ref = (word: number, hashes: number, extra = 0) => {
      const b = new Uint8Array(32 + hashes * 28 + extra);
      new DataView(b.buffer).setUint32(28, word);
      return decodeContentRef(b).ok;
    };
    const w = (len: number, type: number, nest: number, gz: number) => len * 256 + type * 8 + nest * 2 + gz;
    expect(ref(0, 0)).toBe(false);
    expect(ref(w(10, 0, 1, 0), 0)).toBe(false); // expanded type 0
    expect(ref(w(10, 14, 1, 0), 0)).toBe(true); // the chunk is the content
    expect(ref(w(10, 14, 1, 0), 1)).toBe(false); // a one-hash list without gzip
    expect(ref(w(10, 14, 1, 0), 2)).toBe(true);
    expect(ref(w(10, 14, 1, 1), 0)).toBe(false);
    expect(ref(w(10, 14, 1, 1), 1)).toBe(true);
    expect(ref(w(10, 14, 2, 0), 1)).toBe(true);
    expect(ref(w(10, 14, 2, 0), 0)).toBe(false);
    expect(ref(w(10, 14, 3, 0), 2)).toBe(false); // nesting 3
    expect(ref(w(10, 14, 0, 1), 0, 5)).toBe(true); // inline zlib
    expect(ref(w(10, 14, 0, 0), 0, 5)).toBe(false);
    expect(ref(w(10, 14, 0, 1), 0)).toBe(false);
    expect(ref(w(10, 14, 1, 0), 1, 3)).toBe(false); // list not a multiple of 28
    expect(ref(w(100548, 14, 2, 1), 1)).toBe(true);
    expect(ref(w(100549, 14, 2, 1), 1)).toBe(false);
    expect(decodeContentRef(new Uint8Array(31)).ok).toBe(false);
  });

  it('descriptions of 83 and 1198 bytes; the mandatory three TLVs', () => {
    const first: DescTlv = {
      type: 0,
      ref: {
        expandedHash: id,
        expandedLength: 129,
        expandedType: 1,
        nesting: 1,
        gzip: false,
        hashes: [],
        inline: new Uint8Array(0),
      },
    };
    const version: DescTlv = {
      type: TLV_TYPE.VERSION,
      cv: 21,
      capabilities: 2,
      bootSqn: 1,
      descSqn: 1,
      ogmSqnRange: 6000,
      anchorLink: new Uint8Array(14),
      anchorSeed: new Uint8Array(14),
      virtLength: 129,
      virtContents: 1,
    };
    const sigTlv = (t: number, n: number): DescTlv => ({
      type: TLV_TYPE.DSC_SIGNATURE,
      keyType: t,
      signature: new Uint8Array(n),
    });
    const ok = (tlvs: DescTlv[]) => decodeDescription(encodeDescription(tlvs)).ok;
    expect(ok([first, sigTlv(4, 128), version])).toBe(true);
    expect(ok([first, sigTlv(4, 127), version])).toBe(false);
    expect(ok([first, sigTlv(9, 128), version])).toBe(false);
    expect(ok([sigTlv(4, 128), first, version])).toBe(false);
    expect(ok([first, version, sigTlv(4, 128)])).toBe(false);
    expect(ok([first, sigTlv(4, 128), { ...version, cv: 23 } as DescTlv])).toBe(false);
    // smallest legal size per the reference is 83 bytes: a 1-byte "signature" type only fails on the key length
    expect(DESC_ADV_MIN_SIZE).toBe(83);
    // largest: pad with an unknown TLV up to exactly 1198 bytes
    const base = encodeDescription([first, sigTlv(8, 512), version]).length;
    const pad = (n: number): DescTlv => ({ type: 30, unknown: true, raw: new Uint8Array(n) });
    expect(ok([first, sigTlv(8, 512), version, pad(MAX_DESC_ROOT_SIZE - base - 2)])).toBe(true);
    expect(() =>
      encodeDescription([first, sigTlv(8, 512), version, pad(MAX_DESC_ROOT_SIZE - base - 1)]),
    ).toThrow();
    // descending or repeated known types after the mandatory ones
    const llip: DescTlv = { type: TLV_TYPE.LLIP, addresses: [new Uint8Array(16)] };
    const hna: DescTlv = {
      type: TLV_TYPE.HNA6,
      entries: [{ prefixLen: 128, flags: 0, address: new Uint8Array(16) }],
    };
    expect(ok([first, sigTlv(4, 128), version, llip, hna])).toBe(true);
    expect(ok([first, sigTlv(4, 128), version, hna, llip])).toBe(false);
    expect(ok([first, sigTlv(4, 128), version, llip, llip])).toBe(false);
    // an unknown type is skipped by the order check but is the previous type for the next one
    expect(ok([first, sigTlv(4, 128), version, { ...pad(3), type: 12 } as DescTlv, llip])).toBe(true);
    expect(ok([first, sigTlv(4, 128), version, { ...pad(3), type: 16 } as DescTlv, llip])).toBe(false);
    // a stray byte after the last TLV
    const b = encodeDescription([first, sigTlv(4, 128), version]);
    expect(decodeDescription(concatBytes([b, Uint8Array.of(0)])).ok).toBe(false);
    const c = concatBytes([b, Uint8Array.of(0, 0, 0)]);
    put16(c, b.length, (30 << 11) | 3);
    expect(decodeDescription(c).ok).toBe(true);
    const d = decodeDescription(b);
    const t0 = d.ok ? d.value.tlvs[0] : undefined;
    expect(t0?.type === 0 && encodeContentRef(t0.ref).length).toBe(32);
  });

  it('packets with repeated frames of one type and several HELLO_REPLY frames', () => {
    const reply = (n: number): Frame => ({
      type: FRAME_TYPE.HELLO_REPLY_DHASH,
      replies: [{ dhash: new Uint8Array(28).fill(n), rxLq: n, receiverDevIdx: 1 }],
    });
    const b = encodePacket(packetHeader(id), [
      sig,
      { type: 9, max: 1, size: 1 },
      { type: 12, helloSqn: 1 },
      reply(1),
      reply(2),
      reply(3),
    ]);
    const r = decodePacket(b);
    expect(r.ok && r.value.frames.length).toBe(6);
    expect(encodeFrame(reply(1)).length).toBe(2 + 30);
  });
});
