import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  attrMap,
  decodeAttrs,
  nla,
  nlaNested,
  nlaString,
  nlaU16,
  nlaU32,
  nlaU64,
  readString,
  readU16,
  readU32,
  readU64,
} from './attr.js';
import { nlAck } from './memory-socket.js';
import {
  decodeNlmsgDone,
  decodeNlmsgErr,
  decodeNlmsgs,
  encodeNlmsg,
  NLM_F_ACK_TLVS,
  NLMSG_DONE,
  type NlMsg,
} from './nlmsg.js';

const msgArb = fc.record({
  type: fc.integer({ min: 0, max: 0xffff }),
  flags: fc.integer({ min: 0, max: 0xffff }),
  seq: fc.nat({ max: 0xffffffff }),
  pid: fc.nat({ max: 0xffffffff }),
  payload: fc.uint8Array({ maxLength: 64 }),
});

describe('nlmsghdr', () => {
  it('encodes the header as linux/netlink.h lays it out (little-endian host order)', () => {
    const b = encodeNlmsg({ type: 16, flags: 0x405, seq: 7, pid: 0, payload: Uint8Array.of(1, 2, 3) });
    expect([...b]).toEqual([19, 0, 0, 0, 16, 0, 5, 4, 7, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 0]);
  });

  it('round-trips any run of messages in one datagram', () => {
    fc.assert(
      fc.property(fc.array(msgArb, { maxLength: 5 }), (msgs) => {
        const buf = new Uint8Array(msgs.flatMap((m) => [...encodeNlmsg(m)]));
        const d = decodeNlmsgs(buf);
        expect(d.ok).toBe(true);
        if (d.ok)
          expect(d.value.map((m) => ({ ...m, payload: [...m.payload] }))).toEqual(
            msgs.map((m) => ({ ...m, payload: [...m.payload] })),
          );
      }),
    );
  });

  it('rejects every truncation of a datagram that cuts a message, and never throws on flipped bits', () => {
    const buf = new Uint8Array([
      ...encodeNlmsg({ type: 20, flags: 2, seq: 1, pid: 9, payload: new Uint8Array(13).fill(7) }),
      ...encodeNlmsg({ type: 3, flags: 2, seq: 1, pid: 9, payload: new Uint8Array(4) }),
    ]);
    // The padding after the last message may be missing, as the kernel also accepts.
    const ends = new Set([0, 29, 30, 31, 32, buf.length]);
    for (let n = 0; n < buf.length; n++) {
      const d = decodeNlmsgs(buf.subarray(0, n));
      expect(d.ok, `cut at ${n}`).toBe(ends.has(n));
    }
    for (let i = 0; i < buf.length * 8; i++) {
      const c = buf.slice();
      c[i >> 3]! ^= 1 << (i & 7);
      expect(() => decodeNlmsgs(c)).not.toThrow();
    }
  });

  it('reads errno and the extended-ACK message from NLMSG_ERROR, and errno from NLMSG_DONE', () => {
    const req: NlMsg = { type: 16, flags: 5, seq: 42, pid: 0, payload: new Uint8Array(16) };
    const err = nlAck(req, 17, 'File exists');
    expect(err.flags & NLM_F_ACK_TLVS).toBeTruthy();
    const d = decodeNlmsgErr(err);
    expect(d).toEqual({
      ok: true,
      value: { error: -17, request: { type: 16, flags: 5, seq: 42, pid: 0 }, message: 'File exists' },
    });
    expect(decodeNlmsgErr({ ...err, payload: err.payload.subarray(0, 10) }).ok).toBe(false);
    const done = {
      type: NLMSG_DONE,
      flags: 2,
      seq: 1,
      pid: 0,
      payload: Uint8Array.of(0xea, 0xff, 0xff, 0xff),
    };
    expect(decodeNlmsgDone(done)).toBe(-22);
    expect(decodeNlmsgDone({ ...done, payload: new Uint8Array(0) })).toBe(0);
  });
});

describe('nlattr', () => {
  it('pads to 4 bytes, marks nested attributes, and reads typed values back', () => {
    expect([...nlaU16(6, 51820)]).toEqual([6, 0, 6, 0, 0x6c, 0xca, 0, 0]);
    expect([...nlaString(2, 'wg0')]).toEqual([8, 0, 2, 0, 0x77, 0x67, 0x30, 0]);
    const nest = nlaNested(8, [nlaU32(1, 0xdeadbeef), nlaU64(7, 2n ** 40n)]);
    expect(new DataView(nest.buffer).getUint16(2, true)).toBe(0x8008);
    const outer = decodeAttrs(nest);
    expect(outer.ok).toBe(true);
    if (!outer.ok) return;
    expect(outer.value[0]).toMatchObject({ type: 8, nested: true });
    const inner = decodeAttrs(outer.value[0]!.data);
    if (!inner.ok) throw new Error(inner.reason);
    const m = attrMap(inner.value);
    expect(readU32(m.get(1)!)).toEqual({ ok: true, value: 0xdeadbeef });
    expect(readU64(m.get(7)!)).toEqual({ ok: true, value: 2n ** 40n });
    expect(readU16({ type: 1, nested: false, data: new Uint8Array(1) }).ok).toBe(false);
    expect(
      readString(
        decodeAttrs(nlaString(2, 'wg0')).ok
          ? { type: 2, nested: false, data: Uint8Array.of(0x61, 0, 0x62) }
          : { type: 0, nested: false, data: new Uint8Array() },
      ),
    ).toBe('a');
  });

  it('round-trips any attribute list and rejects cut or overlong attributes', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 0x3fff }), fc.uint8Array({ maxLength: 40 })), {
          maxLength: 6,
        }),
        (list) => {
          const buf = new Uint8Array(list.flatMap(([t, d]) => [...nla(t, d)]));
          const d = decodeAttrs(buf);
          if (!d.ok) throw new Error(d.reason);
          expect(d.value.map((a) => [a.type, [...a.data]])).toEqual(list.map(([t, d]) => [t, [...d]]));
        },
      ),
    );
    const one = nla(3, new Uint8Array(5));
    expect(decodeAttrs(one.subarray(0, 7)).ok).toBe(false);
    expect(decodeAttrs(one.subarray(0, 2)).ok).toBe(false);
    expect(() => nla(1, new Uint8Array(0x10000))).toThrow(RangeError);
  });
});
