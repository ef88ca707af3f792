import { createHash, createPublicKey, verify } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { datagrams } from '../test/fixtures.js';
import { bytesEqual, concatBytes, ip6ToString } from './bytes.js';
import { FRAME_TYPE, SHA_LEN, TLV_TYPE } from './constants.js';
import { type ContentItem, contentHash, expandDescription, hashKey } from './content.js';
import { type Description, descriptionSignedBytes, encodeDescription } from './description.js';
import type { ContentAdvFrame, DescAdvFrame, Frame, SignatureFrame } from './frames.js';
import { packetHeader } from './header.js';
import {
  decodePacket,
  decodePacketPrefix,
  encodeFrame,
  encodePacket,
  encodePacketLayout,
  fillSignatureMessages,
  signedBytes,
  signedRegion,
} from './packet.js';
import { inflate } from './zlib.js';

const sha224 = (d: Uint8Array) => new Uint8Array(createHash('sha224').update(d).digest());
const id = new Uint8Array(SHA_LEN).fill(0xab);
const hdr = packetHeader(id);
const sig: Frame = { type: FRAME_TYPE.SIGNATURE_ADV, descSqn: 11, burstSqn: 5, devIdx: 1, messages: [] };
const agg: Frame = { type: FRAME_TYPE.OGM_AGG_SQN_ADV, max: 1, size: 1 };
const hello: Frame = { type: FRAME_TYPE.HELLO_ADV, helloSqn: 0x3aea };

function rsaPublicKey(modulus: Uint8Array) {
  return createPublicKey({
    key: { kty: 'RSA', n: Buffer.from(modulus).toString('base64url'), e: 'AQAB' },
    format: 'jwk',
  });
}

function raw(...parts: Uint8Array[]) {
  return concatBytes([encodePacket(hdr, []), ...parts]);
}

describe('packet receive rules (4.1, 4.2)', () => {
  it('accepts a header-only packet and the unsigned first packet layout of the reference', () => {
    expect(decodePacket(encodePacket(hdr, [])).ok).toBe(true);
    const b = encodePacket(hdr, [sig, agg, hello]);
    const r = decodePacket(b);
    expect(r.ok && r.value.frames.map((f) => f.type)).toEqual([8, 9, 12]);
  });

  it('rejects bad lengths, versions and stray bytes', () => {
    const b = encodePacket(hdr, [sig, agg, hello]);
    expect(decodePacket(b.subarray(0, 31))).toMatchObject({ ok: false, code: 'ERR_LENGTH' });
    expect(decodePacket(concatBytes([b, Uint8Array.of(0x60)]))).toMatchObject({ ok: false });
    expect(decodePacket(concatBytes([b, Uint8Array.of(0x60, 0x03)]))).toMatchObject({
      ok: false,
      code: 'ERR_TRAILING',
    });
    expect(decodePacket(new Uint8Array(1233)).ok).toBe(false);
    for (const cv of [19, 23]) {
      const x = b.slice();
      x[0] = cv;
      expect(decodePacket(x)).toMatchObject({ ok: false, code: 'ERR_VALUE' });
    }
    for (const cv of [20, 22]) {
      const x = b.slice();
      x[0] = cv;
      expect(decodePacket(x).ok).toBe(true);
    }
    // a frame header without data
    expect(decodePacket(raw(Uint8Array.of(0x60, 0x02, 0x60, 0x02))).ok).toBe(false);
  });

  it('enforces the frame order and the position-mandatory SIGNATURE', () => {
    const order = (fs: Frame[]) => {
      const r = decodePacket(raw(...fs.map(encodeFrame)));
      return r.ok ? 'ok' : r.code;
    };
    expect(order([sig, agg, hello])).toBe('ok');
    expect(order([sig, hello, agg])).toBe('ERR_ORDER');
    expect(order([agg, hello])).toBe('ERR_ORDER');
    expect(order([hello])).toBe('ERR_ORDER');
    // same type may repeat
    const ca: Frame = {
      type: FRAME_TYPE.CONTENT_ADV,
      gzip: false,
      nesting: 0,
      reserved: 0,
      body: Uint8Array.of(1),
    };
    expect(order([ca, ca, ca])).toBe('ok');
    // unsigned types before the SIGNATURE are fine
    expect(order([ca, sig, agg])).toBe('ok');
    // an unknown type is not checked itself but counts as the previous type
    const u14: Frame = { type: 14, unknown: true, raw: Uint8Array.of(0) };
    expect(order([sig, agg, u14, hello])).toBe('ERR_ORDER');
    expect(order([sig, u14, agg])).toBe('ERR_ORDER');
    expect(order([sig, agg, hello, u14, { type: FRAME_TYPE.IID_REQ, dest: id, iids: [] }])).toBe('ok');
  });

  it('decodePacketPrefix keeps the frames before the first bad one, as the reference processes them', () => {
    const good = raw(encodeFrame(sig), encodeFrame(agg), encodeFrame(hello));
    const bad = concatBytes([
      good,
      Uint8Array.of(0x60, 0x05, 1, 2, 3),
      encodeFrame({ type: FRAME_TYPE.IID_REQ, dest: id, iids: [] }),
    ]);
    const p = decodePacketPrefix(bad);
    if (!p.ok) throw new Error(p.reason);
    expect(p.value.frames.map((f) => f.type)).toEqual([8, 9, 12]);
    expect(p.value.error).toMatchObject({ code: 'ERR_LENGTH', offset: good.length });
    expect(p.value.signature?.tailOffset).toBe(30 + encodeFrame(sig).length);
    expect(decodePacket(bad)).toMatchObject({ ok: false, code: 'ERR_LENGTH' });
    const whole = decodePacketPrefix(good);
    expect(whole.ok && whole.value.error).toBeUndefined();
    expect(decodePacketPrefix(new Uint8Array(31)).ok).toBe(false);
  });

  it('checks the size rules of each frame type', () => {
    const bad = (type: number, data: number[]) =>
      decodePacket(raw(encodeFrame(sig), Uint8Array.of((type << 3) | 0, data.length + 2, ...data))).ok;
    expect(bad(FRAME_TYPE.HELLO_ADV, [1, 2, 3])).toBe(false);
    expect(bad(FRAME_TYPE.OGM_AGG_SQN_ADV, [1, 2])).toBe(false);
    expect(bad(FRAME_TYPE.HELLO_REPLY_DHASH, new Array(31).fill(0))).toBe(false);
    expect(bad(FRAME_TYPE.OGM_ADV, [0, 1, 2])).toBe(false);
    expect(bad(FRAME_TYPE.OGM_ADV, [0, 1])).toBe(true); // an empty aggregation (OGM_REQ answer)
    expect(bad(FRAME_TYPE.OGM_REQ, new Array(28).fill(0))).toBe(false); // needs one sqn
    expect(bad(FRAME_TYPE.IID_REQ, new Array(28).fill(0))).toBe(true); // frame handler: none is fine
    expect(bad(FRAME_TYPE.CONTENT_REQ, new Array(28 + 27).fill(0))).toBe(false);
    const big = decodePacket(
      raw(
        encodeFrame({
          type: FRAME_TYPE.CONTENT_ADV,
          gzip: false,
          nesting: 0,
          reserved: 0,
          body: new Uint8Array(1198),
        }),
      ),
    );
    expect(big.ok).toBe(false);
    const nested = decodePacket(
      raw(
        encodeFrame({
          type: FRAME_TYPE.CONTENT_ADV,
          gzip: false,
          nesting: 1,
          reserved: 0,
          body: new Uint8Array(30),
        }),
      ),
    );
    expect(nested.ok).toBe(false);
  });

  it('keeps malformed OGM messages and unparsable signature messages as bytes', () => {
    const d = Uint8Array.of(0, 1, ...new Uint8Array(18), 0x80, 0);
    const r = decodePacket(
      raw(encodeFrame(sig), encodeFrame(agg), Uint8Array.of((21 << 3) | 0, d.length + 2, ...d)),
    );
    expect(r.ok && r.value.frames[2]).toMatchObject({ type: 21, aggSqn: 1, ogms: [] });
    const s = decodePacket(raw(Uint8Array.of(8 << 3, 2 + 9 + 3, ...new Uint8Array(9), 99, 1, 2)));
    expect(s.ok && (s.value.frames[0] as SignatureFrame).rest).toEqual(Uint8Array.of(99, 1, 2));
  });

  it('exposes the signed region and fills reserved signatures in place', () => {
    const reserved: Frame = {
      ...sig,
      messages: [
        { keyType: 17, signature: new Uint8Array(14) },
        { keyType: 17, signature: new Uint8Array(14) },
      ],
    } as Frame;
    const enc = encodePacketLayout(hdr, [reserved, agg, hello]);
    const dec = decodePacket(enc.bytes);
    if (!dec.ok) throw new Error(dec.reason);
    expect(dec.value.signature).toEqual(enc.signature);
    const region = signedRegion(enc.bytes, enc)!;
    expect(region.header.length).toBe(9);
    expect(region.tail.length).toBe(encodeFrame(agg).length + encodeFrame(hello).length);
    const llip = new Uint8Array(16).fill(1);
    const before = signedBytes(llip, enc.bytes, enc)!;
    fillSignatureMessages(enc.bytes, enc.signature!, [
      { keyType: 17, signature: new Uint8Array(14).fill(1) },
      { keyType: 17, signature: new Uint8Array(14).fill(2) },
    ]);
    expect(bytesEqual(signedBytes(llip, enc.bytes, enc)!, before)).toBe(true);
    const again = decodePacket(enc.bytes);
    expect(again.ok && (again.value.frames[0] as SignatureFrame).messages[1]!.signature[0]).toBe(2);
    expect(() => fillSignatureMessages(enc.bytes, enc.signature!, [])).toThrow();
    expect(signedRegion(encodePacket(hdr, []), {})).toBeUndefined();
  });
});

describe('signatures of the reference captures verify over the exposed regions', () => {
  function harvest(name: string) {
    const descs: Description[] = [];
    const items = new Map<string, ContentItem>();
    for (const d of datagrams(name)) {
      const r = decodePacket(d.payload);
      if (!r.ok) throw new Error(r.reason);
      for (const f of r.value.frames) {
        if (f.type === 2) descs.push((f as DescAdvFrame).description);
        if (f.type === 4) {
          const c = f as ContentAdvFrame;
          const hash = contentHash(sha224, c.body, c.nesting, c.gzip, c.reserved);
          items.set(hashKey(hash), { hash, nesting: c.nesting, gzip: c.gzip, body: c.body });
        }
      }
    }
    const lookup = (h: Uint8Array) => items.get(hashKey(h));
    return { descs, lookup };
  }

  it('rsalink.pcap: description signatures (node key) and RSA packet signatures (link key)', () => {
    const { descs, lookup } = harvest('rsalink.pcap');
    const linkKeys = new Map<string, Uint8Array>();
    let descOk = 0;
    for (const d of descs) {
      const x = expandDescription(d, lookup, { hash: sha224, inflate });
      if (!x.ok) continue;
      const nodeKey = x.value.tlvs.find((t) => t.type === TLV_TYPE.NODE_PUBKEY);
      const linkKey = x.value.tlvs.find((t) => t.type === TLV_TYPE.RSA_LINK_PUBKEY);
      if (nodeKey?.type !== TLV_TYPE.NODE_PUBKEY || linkKey?.type !== TLV_TYPE.RSA_LINK_PUBKEY) continue;
      const bytes = encodeDescription(d.tlvs);
      expect(
        verify('sha224', descriptionSignedBytes(bytes), rsaPublicKey(nodeKey.key), d.signature.signature),
      ).toBe(true);
      descOk++;
      linkKeys.set(`${hashKey(d.nodeId)}/${d.version.descSqn}`, linkKey.key);
    }
    expect(descOk).toBeGreaterThan(0);
    let pktOk = 0;
    for (const dg of datagrams('rsalink.pcap')) {
      const r = decodePacket(dg.payload);
      if (!r.ok) throw new Error(r.reason);
      const s = r.value.frames.find((f) => f.type === 8) as SignatureFrame | undefined;
      const m = s?.messages[0];
      if (!s || !m || m.keyType !== 4) continue;
      const key = linkKeys.get(`${hashKey(r.value.header.nodeId)}/${s.descSqn}`);
      if (!key) continue;
      expect(ip6ToString(dg.src).startsWith('fe80:')).toBe(true);
      const data = signedBytes(dg.src, dg.payload, r.value)!;
      expect(verify('sha224', data, rsaPublicKey(key), m.signature), `packet ${dg.index}`).toBe(true);
      pktOk++;
    }
    expect(pktOk).toBeGreaterThan(20);
  });
});
