import { createHash, createPrivateKey, createPublicKey, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fixture } from '@bmx7/testenv/env';
import { describe, expect, it } from 'vitest';
import { datagrams } from '../test/fixtures.js';
import { buildDescription, makeDescription } from './build.js';
import { bytesEqual, toHex } from './bytes.js';
import { TLV_TYPE } from './constants.js';
import { type ContentItem, contentHash, expandDescription, hashKey } from './content.js';
import { type Description, encodeDescription } from './description.js';
import type { ContentAdvFrame, DescAdvFrame } from './frames.js';
import { decodePacket } from './packet.js';
import type { PubkeyTlv, TlvValue } from './tlv.js';
import { deflate, inflate } from './zlib.js';

const sha224 = (d: Uint8Array) => new Uint8Array(createHash('sha224').update(d).digest());

const keys = ['n1', 'n2', 'n3'].map((n) => {
  const key = createPrivateKey({ key: readFileSync(fixture(`keys/${n}.der`)), format: 'der', type: 'pkcs1' });
  const jwk = createPublicKey(key).export({ format: 'jwk' });
  return { key, modulus: toHex(new Uint8Array(Buffer.from(jwk.n!, 'base64url'))) };
});

describe('buildDescription', () => {
  it('rebuilds the reference descriptions byte for byte, signatures included (reference keys)', () => {
    let rebuilt = 0;
    for (const name of ['startup.pcap', 'tun.pcap']) {
      const descs: Description[] = [];
      const items = new Map<string, ContentItem>();
      for (const d of datagrams(name)) {
        const r = decodePacket(d.payload);
        if (!r.ok) throw new Error(r.reason);
        for (const f of r.value.frames) {
          if (f.type === 2) descs.push((f as DescAdvFrame).description);
          if (f.type === 4) {
            const c = f as ContentAdvFrame;
            const hash = contentHash(sha224, c.body, c.nesting, c.gzip);
            items.set(hashKey(hash), { hash, nesting: c.nesting, gzip: c.gzip, body: c.body });
          }
        }
      }
      for (const d of descs) {
        const x = expandDescription(d, (h) => items.get(hashKey(h)), { hash: sha224, inflate });
        if (!x.ok) continue;
        const nodeKey = x.value.tlvs.find((t) => t.type === TLV_TYPE.NODE_PUBKEY) as PubkeyTlv & {
          body: Uint8Array;
        };
        const { type: _t, virtLength: _l, virtContents: _c, ...version } = d.version;
        const strip = ({ body: _b, ref: _r, ...v }: TlvValue & { body?: Uint8Array; ref?: unknown }) =>
          v as TlvValue;
        const others = x.value.tlvs.filter((t) => t.type > TLV_TYPE.VERSION).map(strip);
        const built = buildDescription({
          nodeKey: strip(nodeKey) as PubkeyTlv,
          version,
          tlvs: others,
          hash: sha224,
          deflate,
        });
        const original = encodeDescription(d.tlvs);
        const k = keys.find((k) => k.modulus === toHex(nodeKey.key.subarray(nodeKey.key[0] === 0 ? 1 : 0)));
        expect(k).toBeDefined();
        const signed = built.withSignature(new Uint8Array(sign('sha224', built.toSign, k!.key)));
        expect(bytesEqual(signed, original)).toBe(true);
        // every referenced item the receiver needs is among the built items
        const mine = new Map(built.items.map((i) => [hashKey(i.hash), i]));
        const again = expandDescription(d, (h) => mine.get(hashKey(h)), { hash: sha224, inflate });
        expect(again.ok).toBe(true);
        rebuilt++;
      }
    }
    expect(rebuilt).toBeGreaterThanOrEqual(4);
  });

  it('puts TLVs in type order, counts virtual sizes and rejects duplicates', () => {
    const nodeKey: PubkeyTlv = { type: TLV_TYPE.NODE_PUBKEY, keyType: 4, key: new Uint8Array(128).fill(9) };
    const version = {
      cv: 21,
      capabilities: 2,
      bootSqn: 11,
      descSqn: 11,
      ogmSqnRange: 6000,
      anchorLink: new Uint8Array(14),
      anchorSeed: new Uint8Array(14),
    };
    const llip: TlvValue = {
      type: TLV_TYPE.LLIP,
      addresses: [Uint8Array.from({ length: 16 }, (_, i) => (i * 37 + 11) & 0xff)],
    };
    const hna: TlvValue = {
      type: TLV_TYPE.HNA6,
      entries: [
        { prefixLen: 128, flags: 0, address: Uint8Array.from({ length: 16 }, (_, i) => (i * 59 + 3) & 0xff) },
      ],
    };
    const b = buildDescription({ nodeKey, version, tlvs: [hna, llip], hash: sha224, deflate });
    const d = makeDescription(b.tlvs);
    if (!d.ok) throw new Error(d.reason);
    expect(d.value.tlvs.map((t) => (t.type === 0 ? t.ref.expandedType : t.type))).toEqual([1, 2, 3, 14, 15]);
    expect(d.value.version.virtLength).toBe(129 + 16 + 18);
    expect(d.value.version.virtContents).toBe(3);
    expect(() => buildDescription({ nodeKey, version, tlvs: [llip, llip], hash: sha224 })).toThrow(/twice/);
    expect(() =>
      buildDescription({
        nodeKey,
        version,
        tlvs: [{ ...version, type: 3, virtLength: 0, virtContents: 0 }],
        hash: sha224,
      }),
    ).toThrow();
  });
});
