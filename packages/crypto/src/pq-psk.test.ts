/** The post-quantum PSK of a peer pair and epoch (docs/pq-psk.md): vectors, both ends, tampering. */
import { createHash, createHmac, hkdfSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CryptoInputError } from './errors.js';
import {
  type MlKemKeyPair,
  mlkemDecapsulate,
  mlkemEncapsulate,
  mlkemGenerateSeed,
  mlkemKeyPair,
} from './mlkem.js';
import { derivePqPsk, type PqPskInput, pqConfirmTag, pqTagEqual } from './pq-psk.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest();
const fill = (n: number, x: number) => new Uint8Array(n).fill(x);
const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};

/**
 * The vector: the initiator's key pair from seed 00…3f, the responder's from 40…7f; the initiator
 * encapsulates to the responder with m = 11…11, the responder to the initiator with m = 22…22;
 * node ids a1…a1 and b2…b2 (28 bytes); epoch 7.
 */
const initiator = mlkemKeyPair(Uint8Array.from({ length: 64 }, (_, i) => i));
const responder = mlkemKeyPair(Uint8Array.from({ length: 64 }, (_, i) => 0x40 + i));
const toResponder = mlkemEncapsulate(responder.publicKey, (n) => fill(n, 0x11));
const toInitiator = mlkemEncapsulate(initiator.publicKey, (n) => fill(n, 0x22));
const vector: PqPskInput = {
  initiatorId: fill(28, 0xa1),
  responderId: fill(28, 0xb2),
  initiatorKem: initiator.publicKey,
  responderKem: responder.publicKey,
  ctToResponder: toResponder.ciphertext,
  ctToInitiator: toInitiator.ciphertext,
  ssResponder: toResponder.sharedSecret,
  ssInitiator: toInitiator.sharedSecret,
  epoch: 7,
};

/** The derivation written again with node:crypto's HKDF and HMAC (an independent implementation). */
function nodeDerive(i: PqPskInput): { psk: string; confirmKey: string } {
  const info = Buffer.concat([
    Buffer.from('psk'),
    i.initiatorId,
    i.responderId,
    sha256(i.initiatorKem),
    sha256(i.responderKem),
    sha256(i.ctToResponder),
    sha256(i.ctToInitiator),
    u32(i.epoch),
  ]);
  const okm = Buffer.from(
    hkdfSync(
      'sha256',
      Buffer.concat([i.ssResponder, i.ssInitiator]),
      Buffer.from('bmx7d pq-psk v1'),
      info,
      64,
    ),
  );
  return { psk: hex(okm.subarray(0, 32)), confirmKey: hex(okm.subarray(32)) };
}
const nodeTag = (confirmKey: Uint8Array, label: string, epoch: number) =>
  hex(
    createHmac('sha256', confirmKey)
      .update(Buffer.concat([Buffer.from(label), u32(epoch)]))
      .digest(),
  );

/** One end of a peering: its key pair, its node id, and what it learns from the other. */
class End {
  readonly pair: MlKemKeyPair;
  /** The secret this end encapsulated to the peer, and the ciphertext it sent. */
  sent?: { ciphertext: Uint8Array; sharedSecret: Uint8Array };
  /** The ciphertext this end received, and the secret it decapsulated from it. */
  received?: { ciphertext: Uint8Array; sharedSecret: Uint8Array };
  constructor(
    readonly id: Uint8Array,
    readonly role: 'initiator' | 'responder',
  ) {
    this.pair = mlkemKeyPair(mlkemGenerateSeed());
  }
  /** Encapsulates to the peer's announced key; returns the ciphertext to send. */
  send(peerKem: Uint8Array): Uint8Array {
    this.sent = mlkemEncapsulate(peerKem);
    return this.sent.ciphertext;
  }
  receive(ciphertext: Uint8Array): void {
    this.received = { ciphertext, sharedSecret: mlkemDecapsulate(ciphertext, this.pair.secretKey) };
  }
  /** The input as this end sees it: its own ciphertext and secret are one direction, the peer's the other. */
  input(peer: { id: Uint8Array; kem: Uint8Array }, epoch: number): PqPskInput {
    const me = { id: this.id, kem: this.pair.publicKey };
    const [ini, res] = this.role === 'initiator' ? [me, peer] : [peer, me];
    const [toRes, toIni] =
      this.role === 'initiator' ? [this.sent!, this.received!] : [this.received!, this.sent!];
    return {
      initiatorId: ini.id,
      responderId: res.id,
      initiatorKem: ini.kem,
      responderKem: res.kem,
      ctToResponder: toRes.ciphertext,
      ctToInitiator: toIni.ciphertext,
      ssResponder: toRes.sharedSecret,
      ssInitiator: toIni.sharedSecret,
      epoch,
    };
  }
}

/** Two ends that exchanged ciphertexts; `tamper` may alter a ciphertext in transit. */
function peering(
  tamper: { toResponder?: (c: Uint8Array) => Uint8Array; toInitiator?: (c: Uint8Array) => Uint8Array } = {},
) {
  const a = new End(fill(28, 1), 'initiator');
  const b = new End(fill(28, 2), 'responder');
  const ctAB = a.send(b.pair.publicKey);
  const ctBA = b.send(a.pair.publicKey);
  b.receive(tamper.toResponder ? tamper.toResponder(ctAB) : ctAB);
  a.receive(tamper.toInitiator ? tamper.toInitiator(ctBA) : ctBA);
  return {
    a,
    b,
    atA: (epoch: number) => a.input({ id: b.id, kem: b.pair.publicKey }, epoch),
    atB: (epoch: number) => b.input({ id: a.id, kem: a.pair.publicKey }, epoch),
  };
}

const flipBit = (c: Uint8Array, bit = 0) => {
  const out = c.slice();
  out[bit >> 3]! ^= 1 << (bit & 7);
  return out;
};

/** The error `f` throws (fails the test if it does not throw). */
function thrown(f: () => unknown): Error {
  try {
    f();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a throw');
}

describe('post-quantum PSK', () => {
  it('the vector: fixed seeds and messages give fixed ciphertexts, secrets, PSK and tags', () => {
    expect(hex(sha256(vector.initiatorKem))).toBe(
      '0b7934c83125c788995e2ba6bd761e33046b3e40571be53e023309a29f398cc9',
    );
    expect(hex(sha256(vector.responderKem))).toBe(
      '9af96e00098351ae9c790abe15d80d96e294dbca80f99039d9320f3152e5cdbf',
    );
    expect(hex(sha256(vector.ctToResponder))).toBe(
      'bdc44d6410ca18a2bdba3ce9e8542fd6731565d7bedf0a7f546e2d35a276738f',
    );
    expect(hex(sha256(vector.ctToInitiator))).toBe(
      '7f7d017a163f9a98d7037cce88fb79ef9a30ff8c8d6fcc5620c7982fbe15ce11',
    );
    expect(hex(vector.ssResponder)).toBe('302f8a8381f4a11999798e5be2a3fd299e1d1966b43c0db1c16b7ccaa98e1db4');
    expect(hex(vector.ssInitiator)).toBe('d63680e92c0bca92f44bfb7d15eae2ecb7fec2bcacd1ddc5ca6c2bcb25166611');
    const { psk, confirmKey } = derivePqPsk(vector);
    expect(hex(psk)).toBe('76f9534d141a2d6a10556c7514ba7d60fe6577f2bd3075827561b1fac9d75a80');
    expect(hex(confirmKey)).toBe('a85e8e3ab84558ba526ac4444bf608b14515681b0a9ae90fd5403cb256526b10');
    expect(hex(pqConfirmTag(confirmKey, 'initiator', 7))).toBe(
      'c5cce3a5f67f09ad23a59a4292f9e72cf961461d37a5de9ce9b72b83021399cb',
    );
    expect(hex(pqConfirmTag(confirmKey, 'responder', 7))).toBe(
      'a9176fa141666b8ec9422c4cf653eb386cf76ab82447b551b4a0d1dcd270e330',
    );
  });

  it('the derivation is HKDF-SHA256 and HMAC-SHA256 as documented (checked against node:crypto)', () => {
    for (const epoch of [0, 7, 0x12345678, 0xffffffff]) {
      const input = { ...vector, epoch };
      const { psk, confirmKey } = derivePqPsk(input);
      expect({ psk: hex(psk), confirmKey: hex(confirmKey) }).toEqual(nodeDerive(input));
      expect(hex(pqConfirmTag(confirmKey, 'initiator', epoch))).toBe(nodeTag(confirmKey, 'init', epoch));
      expect(hex(pqConfirmTag(confirmKey, 'responder', epoch))).toBe(nodeTag(confirmKey, 'resp', epoch));
    }
  });

  it('both ends derive the same PSK, and each verifies the other’s confirm tag', () => {
    for (let run = 0; run < 5; run++) {
      const p = peering();
      const x = derivePqPsk(p.atA(run));
      const y = derivePqPsk(p.atB(run));
      expect(hex(x.psk)).toBe(hex(y.psk));
      expect(hex(x.confirmKey)).toBe(hex(y.confirmKey));
      expect(hex(x.psk)).not.toBe(hex(x.confirmKey));
      // the initiator sends its tag, the responder checks it with its own key, and back
      expect(
        pqTagEqual(
          pqConfirmTag(x.confirmKey, 'initiator', run),
          pqConfirmTag(y.confirmKey, 'initiator', run),
        ),
      ).toBe(true);
      expect(
        pqTagEqual(
          pqConfirmTag(y.confirmKey, 'responder', run),
          pqConfirmTag(x.confirmKey, 'responder', run),
        ),
      ).toBe(true);
      // a new epoch, a new PSK
      expect(hex(derivePqPsk(p.atA(run + 1)).psk)).not.toBe(hex(x.psk));
    }
  });

  it('changing any input changes the PSK and the confirm key', () => {
    const base = derivePqPsk(vector);
    const variants: [string, PqPskInput][] = [];
    const byteFields = [
      'initiatorId',
      'responderId',
      'initiatorKem',
      'responderKem',
      'ctToResponder',
      'ctToInitiator',
      'ssResponder',
      'ssInitiator',
    ] as const;
    for (const f of byteFields) {
      const b = vector[f];
      for (const bit of [0, b.length * 8 - 1])
        variants.push([`${f} bit ${bit}`, { ...vector, [f]: flipBit(b, bit) }]);
    }
    for (const epoch of [0, 6, 8, 7 + 0x100, 7 + 0x1000000, 0xffffffff])
      variants.push([`epoch ${epoch}`, { ...vector, epoch }]);
    // the roles swapped: ids, keys, ciphertexts or secrets
    variants.push([
      'ids swapped',
      { ...vector, initiatorId: vector.responderId, responderId: vector.initiatorId },
    ]);
    variants.push([
      'keys swapped',
      { ...vector, initiatorKem: vector.responderKem, responderKem: vector.initiatorKem },
    ]);
    variants.push([
      'ciphertexts swapped',
      { ...vector, ctToResponder: vector.ctToInitiator, ctToInitiator: vector.ctToResponder },
    ]);
    variants.push([
      'secrets swapped',
      { ...vector, ssResponder: vector.ssInitiator, ssInitiator: vector.ssResponder },
    ]);
    const seen = new Set([hex(base.psk)]);
    for (const [name, v] of variants) {
      const d = derivePqPsk(v);
      expect(hex(d.psk), name).not.toBe(hex(base.psk));
      expect(hex(d.confirmKey), name).not.toBe(hex(base.confirmKey));
      seen.add(hex(d.psk));
    }
    expect(seen.size).toBe(variants.length + 1);
    // and the input is not modified
    expect(hex(derivePqPsk(vector).psk)).toBe(hex(base.psk));
  });

  it('a ciphertext tampered in transit (one bit) gives another secret, another PSK and a tag that does not verify', () => {
    for (const dir of ['toResponder', 'toInitiator'] as const) {
      for (const bit of [0, 4321, 1088 * 8 - 1]) {
        const p = peering({ [dir]: (c: Uint8Array) => flipBit(c, bit) });
        // the receiving end decapsulated another secret than the sender encapsulated
        const [sender, receiver] = dir === 'toResponder' ? [p.a, p.b] : [p.b, p.a];
        expect(hex(receiver.received!.sharedSecret)).not.toBe(hex(sender.sent!.sharedSecret));
        const x = derivePqPsk(p.atA(3));
        const y = derivePqPsk(p.atB(3));
        expect(hex(x.psk)).not.toBe(hex(y.psk));
        expect(
          pqTagEqual(pqConfirmTag(x.confirmKey, 'initiator', 3), pqConfirmTag(y.confirmKey, 'initiator', 3)),
        ).toBe(false);
        expect(
          pqTagEqual(pqConfirmTag(y.confirmKey, 'responder', 3), pqConfirmTag(x.confirmKey, 'responder', 3)),
        ).toBe(false);
      }
    }
  });

  it('tags differ per role and epoch; pqTagEqual compares exactly', () => {
    const { confirmKey } = derivePqPsk(vector);
    const tags = new Set<string>();
    for (const role of ['initiator', 'responder'] as const)
      for (const epoch of [0, 1, 7, 0xffffffff]) {
        const t = pqConfirmTag(confirmKey, role, epoch);
        expect(t.length).toBe(32);
        tags.add(hex(t));
      }
    expect(tags.size).toBe(8);
    // another confirm key, another tag
    expect(hex(pqConfirmTag(flipBit(confirmKey), 'initiator', 7))).not.toBe(
      hex(pqConfirmTag(confirmKey, 'initiator', 7)),
    );
    const t = pqConfirmTag(confirmKey, 'initiator', 7);
    expect(pqTagEqual(t, t.slice())).toBe(true);
    expect(pqTagEqual(t, flipBit(t, 255))).toBe(false);
    expect(pqTagEqual(t, t.subarray(0, 31))).toBe(false);
    expect(pqTagEqual(t, new Uint8Array(0))).toBe(false);
    expect(pqTagEqual(t, hex(t) as unknown as Uint8Array)).toBe(false);
  });

  it('caller errors name the field and carry no input bytes', () => {
    const sizes = {
      initiatorId: 28,
      responderId: 28,
      initiatorKem: 1184,
      responderKem: 1184,
      ctToResponder: 1088,
      ctToInitiator: 1088,
      ssResponder: 32,
      ssInitiator: 32,
    } as const;
    const messages: string[] = [];
    for (const [f, n] of Object.entries(sizes) as [keyof typeof sizes, number][]) {
      for (const bad of [
        vector[f].subarray(0, n - 1),
        Uint8Array.of(...vector[f], 0xab),
        new Uint8Array(0),
      ]) {
        const err = thrown(() => derivePqPsk({ ...vector, [f]: bad }));
        expect(err).toBeInstanceOf(CryptoInputError);
        expect(err.message).toContain(f);
        messages.push(err.message);
      }
      const err = thrown(() => derivePqPsk({ ...vector, [f]: hex(vector[f]) as unknown as Uint8Array }));
      expect(err).toBeInstanceOf(CryptoInputError);
      expect(err.message).toContain(f);
      messages.push(err.message);
    }
    for (const epoch of [-1, 2 ** 32, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      const err = thrown(() => derivePqPsk({ ...vector, epoch }));
      expect(err).toBeInstanceOf(CryptoInputError);
      expect(err.message).toMatch(/epoch/);
      messages.push(err.message);
      messages.push(thrown(() => pqConfirmTag(new Uint8Array(32), 'initiator', epoch)).message);
    }
    const { confirmKey } = derivePqPsk(vector);
    for (const bad of [confirmKey.subarray(1), Uint8Array.of(...confirmKey, 1)]) {
      const err = thrown(() => pqConfirmTag(bad, 'responder', 7));
      expect(err).toBeInstanceOf(CryptoInputError);
      expect(err.message).toContain('confirmKey');
      messages.push(err.message);
    }
    const role = thrown(() => pqConfirmTag(confirmKey, 'both' as 'initiator', 7));
    expect(role).toBeInstanceOf(CryptoInputError);
    messages.push(role.message);
    // no message carries bytes of any input (hex or base64), nor any long hex or base64 run
    const inputs = [...Object.keys(sizes).map((f) => vector[f as keyof typeof sizes]), confirmKey];
    for (const m of messages) {
      expect(m).not.toMatch(/[0-9a-f]{16,}/i);
      expect(m).not.toMatch(/[A-Za-z0-9+/]{20,}={0,2}/);
      for (const b of inputs) {
        expect(m).not.toContain(hex(b.subarray(0, 4)));
        expect(m).not.toContain(Buffer.from(b.subarray(0, 6)).toString('base64'));
      }
    }
  });
});
