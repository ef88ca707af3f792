import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { descTlvs, frame, tlvValue } from '../test/arbitraries.js';
import { bytesEqual } from './bytes.js';
import { FRAME_TYPE, SHA_LEN, TLV_TYPE } from './constants.js';
import { decodeContentRef, decodeDescription, encodeContentRef, encodeDescription } from './description.js';
import { decodeFrameData, encodeFrameData, FRAME_CODECS } from './frames.js';
import { packetHeader } from './header.js';
import { decodePacket, encodePacket } from './packet.js';
import { decodeTlvBody, encodeTlvBody, TLV_CODECS } from './tlv.js';

/** Drops the decoder's position fields so decoded values compare with what was encoded. */
function strip<T>(v: T): T {
  const { offset: _o, length: _l, ...rest } = v as T & { offset?: number; length?: number };
  return rest as T;
}

describe('round-trip properties', () => {
  it('every TLV type: decode(encode(v)) = v', () => {
    const seen = new Set<number>();
    fc.assert(
      fc.property(tlvValue, (v) => {
        seen.add(v.type);
        const r = decodeTlvBody(v.type, encodeTlvBody(v));
        if (!r.ok) throw new Error(r.reason);
        expect(r.value).toEqual(v);
      }),
      { numRuns: 2000 },
    );
    for (const t of Object.keys(TLV_CODECS).map(Number))
      expect(seen.has(t), `TLV type ${t} generated`).toBe(true);
    expect([...seen].some((t) => !TLV_CODECS[t])).toBe(true);
  });

  it('every TLV type: encode(decode(b)) = b for any bytes that decode', () => {
    const types = Object.keys(TLV_CODECS).map(Number);
    fc.assert(
      fc.property(fc.constantFrom(...types), fc.uint8Array({ minLength: 1, maxLength: 120 }), (type, b) => {
        const r = decodeTlvBody(type, b);
        if (r.ok) expect(bytesEqual(encodeTlvBody(r.value), b)).toBe(true);
      }),
      { numRuns: 5000 },
    );
  });

  it('every frame type: decode(encode(f)) = f', () => {
    const seen = new Set<number>();
    fc.assert(
      fc.property(frame, (f) => {
        seen.add(f.type);
        const r = decodeFrameData(f.type, encodeFrameData(f));
        if (!r.ok) throw new Error(r.reason);
        expect(r.value).toEqual(f);
      }),
      { numRuns: 3000 },
    );
    for (const t of Object.keys(FRAME_CODECS).map(Number))
      expect(seen.has(t), `frame type ${t} generated`).toBe(true);
    expect([...seen].some((t) => !FRAME_CODECS[t])).toBe(true);
  });

  it('every frame type: encode(decode(b)) = b for any bytes that decode', () => {
    const types = Object.keys(FRAME_CODECS)
      .map(Number)
      .filter((t) => t !== FRAME_TYPE.DESC_ADV);
    fc.assert(
      fc.property(fc.constantFrom(...types), fc.uint8Array({ minLength: 1, maxLength: 200 }), (type, b) => {
        const r = decodeFrameData(type, b);
        if (r.ok) expect(bytesEqual(encodeFrameData(r.value), b)).toBe(true);
      }),
      { numRuns: 5000 },
    );
  });

  it('content references: decode(encode(r)) = r', () => {
    fc.assert(
      fc.property(descTlvs, (tlvs) => {
        for (const t of tlvs) {
          if (t.type !== TLV_TYPE.CONTENT_HASH) continue;
          const r = decodeContentRef(encodeContentRef(t.ref));
          if (!r.ok) throw new Error(r.reason);
          expect(r.value).toEqual(t.ref);
        }
      }),
    );
  });

  it('descriptions: decode(encode(tlvs)) gives the same TLVs, VERSION offset and node id', () => {
    fc.assert(
      fc.property(descTlvs, (tlvs) => {
        const b = encodeDescription(tlvs);
        const r = decodeDescription(b);
        if (!r.ok) throw new Error(r.reason);
        expect(r.value.tlvs.map(strip)).toEqual(tlvs);
        expect(r.value.versionOffset).toBe(r.value.tlvs[2]!.offset);
        expect(r.value.nodeId.length).toBe(SHA_LEN);
        expect(bytesEqual(encodeDescription(r.value.tlvs), b)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('packets: decode(encode(header, frames)) = frames, for frames in a valid order', () => {
    const nodeId = new Uint8Array(SHA_LEN).fill(7);
    fc.assert(
      fc.property(fc.array(frame, { minLength: 1, maxLength: 6 }), (fs) => {
        // Sender order: ascending types, a SIGNATURE first when any type > 8 is present.
        const sorted = [...fs].sort((a, b) => a.type - b.type);
        const sig = {
          type: FRAME_TYPE.SIGNATURE_ADV,
          descSqn: 1,
          burstSqn: 2,
          devIdx: 1,
          messages: [],
        } as const;
        const frames =
          sorted.some((f) => f.type > 8) && !sorted.some((f) => f.type === 8)
            ? [...sorted.filter((f) => f.type < 8), sig, ...sorted.filter((f) => f.type > 8)]
            : sorted;
        let bytes: Uint8Array;
        try {
          bytes = encodePacket(packetHeader(nodeId), frames);
        } catch {
          return; // larger than a packet
        }
        const r = decodePacket(bytes);
        if (!r.ok) throw new Error(r.reason);
        expect(r.value.frames.map(strip)).toEqual(frames);
      }),
      { numRuns: 1000 },
    );
  });
});
