import { describe, expect, it } from 'vitest';
import {
  DEFAULT_PQ_PSK_PORT,
  decodePqMessage,
  encodePqMessage,
  PQ_HEADER_LEN,
  PQ_MAX_MESSAGE_LEN,
  PQ_MSG_LEN,
  type PqDecodeCode,
  type PqMessage,
  PqMessageError,
  pqMessageLength,
} from './messages.js';

const fill = (n: number, v: number) => new Uint8Array(n).fill(v);
const seq = (n: number, start = 0) => Uint8Array.from({ length: n }, (_, i) => (start + i) & 0xff);
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const sender = fill(28, 0x11);
const receiver = fill(28, 0x22);

const samples: PqMessage[] = [
  { type: 'init', epoch: 1, sender, receiver, ciphertext: seq(1088, 3) },
  { type: 'resp', epoch: 0xffff_ffff, sender, receiver, ciphertext: seq(1088, 7), tag: seq(32, 200) },
  { type: 'confirm', epoch: 7, sender, receiver, tag: seq(32) },
  { type: 'rekey', epoch: 0, sender, receiver },
];

/** A copy of `b` with byte `i` set to `v`. */
const withByte = (b: Uint8Array, i: number, v: number) => {
  const c = Uint8Array.from(b);
  c[i] = v;
  return c;
};

const refused = (b: unknown): PqDecodeCode | 'accepted' => {
  const r = decodePqMessage(b as Uint8Array);
  return r.ok ? 'accepted' : r.code;
};

/** A small deterministic PRNG (xorshift32) for the fuzz. */
function prng(seed: number) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 2 ** 32;
  };
}

describe('PQ PSK messages', () => {
  it('have one length per type, 68-byte header, all within an IPv6 minimum-MTU datagram', () => {
    expect(PQ_HEADER_LEN).toBe(68);
    expect(PQ_MSG_LEN).toEqual({ INIT: 1156, RESP: 1188, CONFIRM: 100, REKEY: 68 });
    expect(PQ_MAX_MESSAGE_LEN).toBe(1280 - 40 - 8);
    for (const len of Object.values(PQ_MSG_LEN)) expect(len).toBeLessThanOrEqual(PQ_MAX_MESSAGE_LEN);
    expect(pqMessageLength('resp')).toBe(1188);
    expect(DEFAULT_PQ_PSK_PORT).toBe(6272);
  });

  it('round-trip every type', () => {
    for (const m of samples) {
      const b = encodePqMessage(m);
      expect(b.length).toBe(pqMessageLength(m.type));
      const r = decodePqMessage(b);
      expect(r.ok).toBe(true);
      if (r.ok) expect(r.value).toEqual(m);
      // the decoded fields do not alias the datagram
      b.fill(0xee);
      if (r.ok) expect(r.value).toEqual(m);
    }
  });

  it('decode a message inside a larger buffer (a subarray view)', () => {
    const b = encodePqMessage(samples[2]!);
    const big = new Uint8Array(b.length + 10);
    big.set(b, 5);
    const r = decodePqMessage(big.subarray(5, 5 + b.length));
    expect(r.ok && r.value).toEqual(samples[2]);
  });

  it('fixed vector: CONFIRM', () => {
    const b = encodePqMessage(samples[2]!);
    expect(hex(b)).toBe(
      '42375051' + // "B7PQ"
        '01' + // version
        '03' + // CONFIRM
        '0000' + // reserved
        '00000007' + // epoch 7
        '11'.repeat(28) + // sender
        '22'.repeat(28) + // receiver
        '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f', // initiator tag
    );
  });

  it('fixed vector: REKEY', () => {
    const b = encodePqMessage({ type: 'rekey', epoch: 0x0102_0304, sender: receiver, receiver: sender });
    expect(hex(b)).toBe(
      '42375051' + // "B7PQ"
        '01' + // version
        '04' + // REKEY
        '0000' + // reserved
        '01020304' + // epoch
        '22'.repeat(28) + // sender
        '11'.repeat(28), // receiver
    );
    expect(refused(b)).toBe('accepted');
  });

  it('refuse malformed input, each with its code', () => {
    const confirm = encodePqMessage(samples[2]!);
    const init = encodePqMessage(samples[0]!);
    expect(refused('B7PQ')).toBe('ERR_PQ_INPUT');
    expect(refused(undefined)).toBe('ERR_PQ_INPUT');
    expect(refused([...confirm])).toBe('ERR_PQ_INPUT');
    expect(refused(new Uint8Array(0))).toBe('ERR_PQ_SHORT');
    expect(refused(confirm.subarray(0, 67))).toBe('ERR_PQ_SHORT');
    expect(refused(new Uint8Array(PQ_MAX_MESSAGE_LEN + 1))).toBe('ERR_PQ_LONG');
    expect(refused(new Uint8Array(65536))).toBe('ERR_PQ_LONG');
    expect(refused(withByte(confirm, 0, 0x62))).toBe('ERR_PQ_MAGIC');
    expect(refused(withByte(confirm, 3, 0x52))).toBe('ERR_PQ_MAGIC');
    expect(refused(withByte(confirm, 4, 0))).toBe('ERR_PQ_VERSION');
    expect(refused(withByte(confirm, 4, 2))).toBe('ERR_PQ_VERSION');
    expect(refused(withByte(confirm, 5, 0))).toBe('ERR_PQ_TYPE');
    expect(refused(withByte(confirm, 5, 5))).toBe('ERR_PQ_TYPE');
    expect(refused(withByte(confirm, 5, 0xff))).toBe('ERR_PQ_TYPE');
    expect(refused(withByte(confirm, 6, 1))).toBe('ERR_PQ_RESERVED');
    expect(refused(withByte(confirm, 7, 0x80))).toBe('ERR_PQ_RESERVED');
    // an INIT, RESP or CONFIRM with epoch 0 (REKEY may carry 0: no key installed)
    expect(refused(withByte(confirm, 11, 0))).toBe('ERR_PQ_EPOCH');
    expect(refused(withByte(init, 11, 0))).toBe('ERR_PQ_EPOCH');
  });

  it('refuse every length but the one of its type', () => {
    const types = [
      ['init', 1],
      ['resp', 2],
      ['confirm', 3],
      ['rekey', 4],
    ] as const;
    for (const [name, byte] of types) {
      const ok = pqMessageLength(name);
      for (const len of [68, 69, 99, 100, 101, 1155, 1156, 1157, 1187, 1188, 1189, 1232]) {
        const b = new Uint8Array(len);
        b.set(encodePqMessage(samples[3]!).subarray(0, 12));
        b[5] = byte;
        b[11] = 1; // epoch 1
        expect(refused(b), `${name} of ${len} bytes`).toBe(len === ok ? 'accepted' : 'ERR_PQ_LENGTH');
      }
    }
  });

  it('refuse to encode fields of the wrong size or range', () => {
    const bad: unknown[] = [
      { ...samples[0], ciphertext: new Uint8Array(1087) },
      { ...samples[1], tag: new Uint8Array(31) },
      { ...samples[2], tag: new Uint8Array(33) },
      { ...samples[2], sender: new Uint8Array(27) },
      { ...samples[2], receiver: 'x' },
      { ...samples[2], epoch: 0 },
      { ...samples[2], epoch: 2 ** 32 },
      { ...samples[2], epoch: 1.5 },
      { ...samples[3], epoch: -1 },
      { ...samples[3], type: 'hello' },
    ];
    for (const m of bad) expect(() => encodePqMessage(m as PqMessage)).toThrow(PqMessageError);
  });

  it('fuzz: random and mutated datagrams never throw; what decodes encodes back to the same bytes', () => {
    const rnd = prng(0x5eed);
    const valid = samples.map(encodePqMessage);
    let accepted = 0;
    for (let i = 0; i < 20_000; i++) {
      let b: Uint8Array;
      const kind = i % 4;
      if (kind === 0) {
        b = new Uint8Array(Math.floor(rnd() * 1400));
        for (let j = 0; j < b.length; j++) b[j] = Math.floor(rnd() * 256);
      } else {
        const base = valid[Math.floor(rnd() * valid.length)]!;
        b = Uint8Array.from(base);
        const flips = 1 + Math.floor(rnd() * 3);
        for (let f = 0; f < flips; f++) {
          const at = Math.floor(rnd() * Math.min(b.length, kind === 1 ? 16 : b.length));
          b[at]! ^= 1 << Math.floor(rnd() * 8);
        }
        if (kind === 3) b = b.subarray(0, Math.floor(rnd() * (b.length + 1)));
      }
      const r = decodePqMessage(b);
      if (r.ok) {
        accepted++;
        expect(hex(encodePqMessage(r.value))).toBe(hex(b));
      } else expect(r.code).toMatch(/^ERR_PQ_/);
    }
    expect(accepted).toBeGreaterThan(0);
  });
});
