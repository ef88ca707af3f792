import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import * as bmxCrypto from '@bmx7/crypto';
import { describe, expect, it } from 'vitest';
import { decodePqMessage, encodePqMessage, type PqMessage, type PqMessageType } from './messages.js';
import {
  createPqSession,
  nextPqEpoch,
  type PqCrypto,
  type PqKemKeyPair,
  type PqOutput,
  type PqSession,
  PqSessionError,
  type PqSessionOptions,
} from './session.js';

// ---- a deterministic fake of the @bmx7/crypto primitives

const sha256 = (...parts: (Uint8Array | string)[]): Uint8Array => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
};
const u32 = (n: number) => Uint8Array.of(n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
/** `n` bytes of SHA-256(label ‖ seed ‖ counter) blocks. */
const expand = (label: string, seed: Uint8Array, n: number): Uint8Array => {
  const out = new Uint8Array(n);
  for (let i = 0, o = 0; o < n; i++, o += 32) out.set(sha256(label, seed, u32(i)).subarray(0, n - o), o);
  return out;
};
/** Fake KEM: the public key is derived from the secret, a ciphertext is the message XOR a pad of the key. */
const fakePublic = (secretKey: Uint8Array) => expand('pk', secretKey, 1184);
const fakeKeyPair = (seed: string): PqKemKeyPair => {
  const secretKey = sha256('sk', seed);
  return { publicKey: fakePublic(secretKey), secretKey };
};
const xorPad = (publicKey: Uint8Array, data: Uint8Array): Uint8Array => {
  const ct = expand('pad', publicKey, 1088);
  for (let i = 0; i < data.length; i++) ct[i]! ^= data[i]!;
  return ct;
};

interface FakeCrypto extends PqCrypto {
  encapsulations: number;
}
function fakeCrypto(): FakeCrypto {
  const c: FakeCrypto = {
    encapsulations: 0,
    mlkemEncapsulate(publicKey, random = (n) => new Uint8Array(n).fill(7)) {
      // stands for FIPS 203's modulus check: an all-zero key is refused
      if (publicKey.every((b) => b === 0)) throw new Error('invalid encapsulation key');
      c.encapsulations++;
      const m = random(32);
      const ciphertext = xorPad(publicKey, m);
      return { ciphertext, sharedSecret: sha256('ss', m, ciphertext) };
    },
    mlkemDecapsulate(ciphertext, secretKey) {
      const pad = expand('pad', fakePublic(secretKey), 32);
      const m = ciphertext.slice(0, 32).map((b, i) => b ^ pad[i]!);
      return sha256('ss', m, ciphertext);
    },
    derivePqPsk(i) {
      const all = [
        i.initiatorId,
        i.responderId,
        i.initiatorKem,
        i.responderKem,
        i.ctToResponder,
        i.ctToInitiator,
        i.ssResponder,
        i.ssInitiator,
        u32(i.epoch),
      ];
      return { psk: sha256('psk', ...all), confirmKey: sha256('confirm', ...all) };
    },
    pqConfirmTag(confirmKey, role, epoch) {
      return new Uint8Array(createHmac('sha256', confirmKey).update(role).update(u32(epoch)).digest());
    },
    pqTagEqual: (a, b) => a.length === b.length && timingSafeEqual(a, b),
  };
  return c;
}

/** xorshift32: deterministic randomness for encapsulations and the simulated network. */
function prng(seed: number) {
  let s = seed >>> 0 || 1;
  const next = () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
  return {
    float: () => next() / 2 ** 32,
    bytes: (n: number) => Uint8Array.from({ length: n }, () => next() & 0xff),
  };
}

// ---- a pair of sessions on a manual clock and a hand-driven network

const idI = new Uint8Array(28).fill(0xc1);
const idR = new Uint8Array(28).fill(0x9a);
const fingerprint = (psk: Uint8Array) => createHash('sha256').update(psk).digest('hex');
const kind = (b: Uint8Array): PqMessageType => {
  const r = decodePqMessage(b);
  if (!r.ok) throw new Error(r.reason);
  return r.value.type;
};
const epochOf = (b: Uint8Array): number => {
  const r = decodePqMessage(b);
  if (!r.ok) throw new Error(r.reason);
  return r.value.epoch;
};
const flip = (b: Uint8Array, byte: number, bit = 0) => {
  const c = Uint8Array.from(b);
  c[byte]! ^= 1 << bit;
  return c;
};

type Side = 'I' | 'R';
interface Installed {
  epoch: number;
  /** SHA-256 of the PSK: a test never prints a PSK. */
  hash: string;
  at: number;
}
type Drop = (bytes: Uint8Array, to: Side) => boolean;

class Pair {
  t = 1_000_000;
  readonly clock = { now: () => this.t };
  readonly crypto = fakeCrypto();
  readonly random = prng(42);
  kemI = fakeKeyPair('I');
  kemR = fakeKeyPair('R');
  I: PqSession;
  R: PqSession;
  readonly queue: { to: Side; bytes: Uint8Array }[] = [];
  readonly key: Record<Side, Installed | undefined> = { I: undefined, R: undefined };
  readonly installs: Record<Side, Installed[]> = { I: [], R: [] };
  /** Every datagram sent, for replays. */
  readonly sent: { from: Side; bytes: Uint8Array }[] = [];

  constructor(readonly extra: Partial<PqSessionOptions> = {}) {
    this.I = this.session('initiator');
    this.R = this.session('responder');
    // the sessions' trial encapsulations (their peer-key checks) are not counted
    this.crypto.encapsulations = 0;
  }

  session(role: 'initiator' | 'responder'): PqSession {
    const initiator = role === 'initiator';
    return createPqSession({
      role,
      selfId: initiator ? idI : idR,
      peerId: initiator ? idR : idI,
      selfKem: initiator ? this.kemI : this.kemR,
      peerKem: initiator ? this.kemR.publicKey : this.kemI.publicKey,
      crypto: this.crypto,
      clock: this.clock,
      random: this.random.bytes,
      ...this.extra,
    });
  }

  /** Takes a session's output: its datagrams into the network, its PSK into the side's slot. */
  out(from: Side, o: PqOutput): PqOutput {
    for (const bytes of o.send) {
      this.queue.push({ to: from === 'I' ? 'R' : 'I', bytes });
      this.sent.push({ from, bytes });
    }
    if (o.install) {
      expect(o.install.psk.length).toBe(32);
      const k = { epoch: o.install.epoch, hash: fingerprint(o.install.psk), at: this.t };
      this.key[from] = k;
      this.installs[from].push(k);
    }
    return o;
  }

  start(): void {
    this.out('I', this.I.start());
    this.out('R', this.R.start());
  }

  deliver(to: Side, bytes: Uint8Array): PqOutput {
    return this.out(to, (to === 'I' ? this.I : this.R).receive(bytes));
  }

  /** Delivers what is queued (and what that causes) until the network is quiet; `drop` loses some. */
  run(drop?: Drop): void {
    for (let n = 0; this.queue.length; n++) {
      if (n > 1000) throw new Error('the sessions never go quiet');
      const m = this.queue.shift()!;
      if (drop?.(m.bytes, m.to)) continue;
      this.deliver(m.to, m.bytes);
    }
  }

  /** Moves the clock in steps of `step` ms, ticking both sessions and running the network. */
  advance(ms: number, drop?: Drop, step = 50): void {
    const end = this.t + ms;
    while (this.t < end) {
      this.t = Math.min(end, this.t + step);
      this.out('I', this.I.tick());
      this.out('R', this.R.tick());
      this.run(drop);
    }
  }

  agreed(): boolean {
    return (
      this.key.I !== undefined &&
      this.key.I.hash === this.key.R?.hash &&
      this.key.I.epoch === this.key.R.epoch
    );
  }
}

/** A drop filter that loses the first `n` datagrams of a type (to either side unless given). */
const loseFirst = (type: PqMessageType, n = 1, to?: Side): Drop => {
  let left = n;
  return (b, dest) => {
    if (left > 0 && kind(b) === type && (to === undefined || dest === to)) {
      left--;
      return true;
    }
    return false;
  };
};

/**
 * The real primitives, when @bmx7/crypto exports them: looked up at run time so that this file also
 * builds against a crypto package without them (the end-to-end case is then skipped).
 */
const realCrypto = bmxCrypto as unknown as Partial<PqCrypto> & {
  mlkemKeyPair?: (seed: Uint8Array) => PqKemKeyPair;
  mlkemGenerateSeed?: (random?: (n: number) => Uint8Array) => Uint8Array;
};
const hasRealCrypto =
  typeof realCrypto.mlkemEncapsulate === 'function' &&
  typeof realCrypto.mlkemDecapsulate === 'function' &&
  typeof realCrypto.derivePqPsk === 'function' &&
  typeof realCrypto.pqConfirmTag === 'function' &&
  typeof realCrypto.pqTagEqual === 'function' &&
  typeof realCrypto.mlkemKeyPair === 'function' &&
  typeof realCrypto.mlkemGenerateSeed === 'function';

describe('PQ PSK session', () => {
  it('first key: one INIT, one RESP, one CONFIRM; both install the same PSK at epoch 1', () => {
    const p = new Pair();
    p.start();
    // I sends INIT at once; R, without a key, sends REKEY (I ignores it: an exchange is running)
    expect(p.queue.map((m) => kind(m.bytes))).toEqual(['init', 'rekey']);
    p.run();
    expect(p.agreed()).toBe(true);
    expect(p.key.I?.epoch).toBe(1);
    expect(p.sent.map((m) => `${m.from}:${kind(m.bytes)}`)).toEqual([
      'I:init',
      'R:rekey',
      'R:resp',
      'I:confirm',
    ]);
    const si = p.I.status();
    const sr = p.R.status();
    expect(si).toMatchObject({
      role: 'initiator',
      state: 'established',
      pskSource: 'pq',
      epoch: 1,
      keyAgeMs: 0,
    });
    expect(sr).toMatchObject({
      role: 'responder',
      state: 'established',
      pskSource: 'pq',
      epoch: 1,
      pending: 0,
    });
    expect(si.counters).toMatchObject({ exchanges: 1, installs: 1, rekeys: 0, badResp: 0, stale: 0 });
    expect(sr.counters).toMatchObject({ exchanges: 1, installs: 1, rekeys: 1, badConfirm: 0, stale: 0 });
    p.advance(30_000);
    expect(p.I.status().keyAgeMs).toBe(30_000);
    // nothing more on the wire while the key is fresh
    expect(p.sent.length).toBe(4);
    expect(p.I.nextWakeAt()).toBe(p.key.I!.at + 120_000);
  });

  it('never shows a PSK or a secret: the install PSK is not enumerable, status and outputs carry none', () => {
    const p = new Pair();
    const outs: PqOutput[] = [p.R.start()];
    const o = p.I.start();
    outs.push(o);
    p.out('I', o);
    const resp = p.R.receive(p.queue.find((m) => m.to === 'R')!.bytes);
    outs.push(resp);
    const fin = p.I.receive(resp.send[0]!);
    outs.push(fin);
    const conf = p.R.receive(fin.send[0]!);
    outs.push(conf);
    expect(fin.install && conf.install).toBeTruthy();
    const psk = Buffer.from(fin.install!.psk).toString('hex');
    expect(Object.keys(fin.install!)).toEqual(['epoch']);
    expect(JSON.stringify(fin.install)).toBe('{"epoch":1}');
    const printed = [
      ...outs.map((x) => JSON.stringify(x)),
      JSON.stringify(p.I.status()),
      JSON.stringify(p.R.status()),
      JSON.stringify(p.I),
      JSON.stringify(p.R),
    ].join('\n');
    const asDecimals = Array.from(fin.install!.psk).join(',');
    expect(printed).not.toContain(psk);
    expect(printed).not.toContain(asDecimals);
    const secretHex = Buffer.from(p.kemI.secretKey).toString('hex');
    expect(printed).not.toContain(secretHex);
    expect(Object.keys(p.I)).not.toContain('psk');
  });

  it('rotation: a new exchange intervalMs after the install, epoch + 1, both install the same new key', () => {
    const p = new Pair();
    p.start();
    p.run();
    const first = p.key.I!;
    p.advance(119_900);
    expect(p.key.I).toBe(first);
    p.advance(200);
    expect(p.agreed()).toBe(true);
    expect(p.key.I!.epoch).toBe(2);
    expect(p.key.I!.hash).not.toBe(first.hash);
    p.advance(120_000);
    expect(p.key.I!.epoch).toBe(3);
    expect(p.agreed()).toBe(true);
    expect(new Set(p.installs.I.map((k) => k.hash)).size).toBe(3);
    expect(p.I.status().counters).toMatchObject({ exchanges: 3, installs: 3 });
  });

  it('a lost INIT: I resends the same INIT after retryMs', () => {
    const p = new Pair();
    p.start();
    p.run(loseFirst('init'));
    expect(p.key.I).toBeUndefined();
    expect(p.I.status().state).toBe('exchanging');
    p.advance(999);
    expect(p.key.I).toBeUndefined();
    p.advance(1);
    expect(p.agreed()).toBe(true);
    const inits = p.sent.filter((m) => kind(m.bytes) === 'init');
    expect(inits.length).toBe(2);
    expect(inits[1]!.bytes).toEqual(inits[0]!.bytes);
    expect(p.crypto.encapsulations).toBe(2); // one by I, one by R
    expect(p.I.status().counters.exchanges).toBe(1);
  });

  it('a lost RESP: R answers the repeated INIT with its cached RESP, no new encapsulation', () => {
    const p = new Pair({ retryMs: 1000 });
    p.start();
    p.run(loseFirst('resp'));
    expect(p.key.I).toBeUndefined();
    expect(p.R.status()).toMatchObject({ state: 'pending', pending: 1 });
    p.advance(1000);
    expect(p.agreed()).toBe(true);
    expect(p.crypto.encapsulations).toBe(2);
    const resps = p.sent.filter((m) => kind(m.bytes) === 'resp');
    // R's own resend and its answer to the repeated INIT are the same bytes
    expect(resps.length).toBeGreaterThanOrEqual(2);
    for (const r of resps) expect(r.bytes).toEqual(resps[0]!.bytes);
    expect(p.R.status().counters).toMatchObject({ exchanges: 1, installs: 1 });
    expect(p.R.status().counters.duplicates).toBeGreaterThanOrEqual(1);
  });

  it('a lost CONFIRM: R resends its RESP, I confirms again; the keys differ for at most retryMs', () => {
    const p = new Pair();
    p.start();
    p.run();
    p.advance(120_000 - 1, undefined, 1);
    const drop = loseFirst('confirm');
    let mismatchFrom: number | undefined;
    let mismatchUntil: number | undefined;
    for (let i = 0; i < 3000; i++) {
      p.advance(1, drop, 1);
      if (!p.agreed() && mismatchFrom === undefined) mismatchFrom = p.t;
      if (mismatchFrom !== undefined && p.agreed() && mismatchUntil === undefined) mismatchUntil = p.t;
    }
    expect(p.key.I!.epoch).toBe(2);
    expect(p.agreed()).toBe(true);
    expect(mismatchFrom).toBeDefined();
    expect(mismatchUntil! - mismatchFrom!).toBeLessThanOrEqual(1000);
    expect(p.I.status().counters.duplicates).toBe(1);
    expect(p.R.status().counters).toMatchObject({ installs: 2, badConfirm: 0 });
  });

  it('duplicated messages: answered from the caches, one install each, no bad counters', () => {
    const p = new Pair();
    p.start();
    for (let n = 0; p.queue.length; n++) {
      const m = p.queue.shift()!;
      p.deliver(m.to, m.bytes);
      p.deliver(m.to, m.bytes);
      expect(n).toBeLessThan(100);
    }
    expect(p.agreed()).toBe(true);
    expect(p.installs.I.length).toBe(1);
    expect(p.installs.R.length).toBe(1);
    for (const s of [p.I, p.R]) {
      const c = s.status().counters;
      expect(c.badResp + c.badConfirm + c.busy + c.malformed).toBe(0);
      expect(c.duplicates).toBeGreaterThan(0);
    }
    expect(p.crypto.encapsulations).toBe(2);
    // a late copy of the installed INIT: no answer, no new exchange
    const init = p.sent.find((m) => kind(m.bytes) === 'init')!.bytes;
    expect(p.R.receive(init).send).toEqual([]);
    expect(p.R.status().counters.exchanges).toBe(1);
  });

  for (const [what, byte] of [
    ['ciphertext to the initiator', 68 + 500],
    ['responder tag', 68 + 1088 + 31],
  ] as const) {
    it(`a tampered RESP (${what}): badResp, I installs nothing and keeps its key`, () => {
      const p = new Pair();
      p.start();
      p.run();
      const before = p.key.I!;
      p.advance(120_000, (b, to) => {
        if (to === 'I' && kind(b) === 'resp') {
          // the genuine RESP is replaced by a tampered copy
          p.deliver('I', flip(b, byte, 3));
          return true;
        }
        return false;
      });
      expect(p.key.I).toBe(before);
      expect(p.I.status().counters.badResp).toBeGreaterThanOrEqual(1);
      expect(p.I.status()).toMatchObject({ state: 'exchanging', epoch: 1 });
      expect(p.R.status()).toMatchObject({ epoch: 1, pending: 1 });
      expect(p.agreed()).toBe(true);
      // once a genuine RESP gets through (R's resend), both move on
      p.advance(1000);
      expect(p.agreed()).toBe(true);
      expect(p.key.I!.epoch).toBe(2);
    });
  }

  it('a tampered CONFIRM: badConfirm, R keeps its key; the genuine one (after the RESP resend) installs', () => {
    const p = new Pair();
    p.start();
    p.run();
    const before = p.key.R!;
    let tampered = 0;
    p.advance(120_000, (b, to) => {
      if (to === 'R' && kind(b) === 'confirm' && tampered === 0) {
        tampered++;
        p.deliver('R', flip(b, 68 + 7));
        return true;
      }
      return false;
    });
    expect(p.R.status().counters.badConfirm).toBe(1);
    expect(p.key.R).toBe(before);
    expect(p.key.I!.epoch).toBe(2);
    expect(p.R.status()).toMatchObject({ state: 'pending', epoch: 1 });
    p.advance(1000);
    expect(p.agreed()).toBe(true);
    expect(p.key.R!.epoch).toBe(2);
  });

  it('a replayed INIT of an earlier epoch: R answers, installs nothing, the exchange expires', () => {
    const p = new Pair();
    p.start();
    p.run();
    const oldInit = p.sent.find((m) => kind(m.bytes) === 'init')!.bytes;
    const oldConfirm = p.sent.find((m) => kind(m.bytes) === 'confirm')!.bytes;
    p.advance(120_000);
    expect(p.key.R!.epoch).toBe(2);
    const current = p.key.R!;
    // the attacker replays epoch 1's INIT and CONFIRM
    const answer = p.deliver('R', oldInit);
    expect(answer.send.map(kind)).toEqual(['resp']);
    expect(epochOf(answer.send[0]!)).toBe(1);
    expect(p.deliver('R', oldConfirm).install).toBeUndefined();
    expect(p.R.status().counters).toMatchObject({ badConfirm: 1 });
    // I takes the RESP for epoch 1 as stale, and confirms nothing
    p.run();
    expect(p.I.status().counters.stale).toBeGreaterThanOrEqual(1);
    expect(p.key.R).toBe(current);
    expect(p.agreed()).toBe(true);
    // the pending exchange expires; R then asks for a fresh one (I may have missed a RESP), and both agree
    p.advance(10_000);
    expect(p.R.status().counters.expired).toBe(1);
    p.advance(5_000);
    expect(p.agreed()).toBe(true);
    expect(p.installs.R.every((k) => p.installs.I.some((i) => i.hash === k.hash))).toBe(true);
  });

  it('a restart of I: a fresh session at epoch 1, R accepts it, both agree', () => {
    const p = new Pair();
    p.start();
    p.run();
    p.advance(240_000);
    expect(p.key.R!.epoch).toBe(3);
    const old = p.key.R!.hash;
    p.I.stop();
    p.I = p.session('initiator');
    p.key.I = undefined;
    p.out('I', p.I.start());
    p.run();
    expect(p.agreed()).toBe(true);
    expect(p.key.R!.epoch).toBe(1);
    expect(p.key.R!.hash).not.toBe(old);
  });

  it('a restart of R: R sends REKEY, I starts at once, agreed well within one interval', () => {
    const p = new Pair();
    p.start();
    p.run();
    p.advance(30_000);
    p.R.stop();
    p.R = p.session('responder');
    p.key.R = undefined;
    const restartAt = p.t;
    p.out('R', p.R.start());
    expect(p.queue.map((m) => kind(m.bytes))).toEqual(['rekey']);
    p.run();
    expect(p.agreed()).toBe(true);
    expect(p.key.R!.at - restartAt).toBeLessThan(1000);
    expect(p.key.I!.epoch).toBe(2);
    expect(p.I.status().counters.rekeys).toBe(1);
    // further REKEYs within rekeyMinMs start nothing
    const rekey = encodePqMessage({ type: 'rekey', epoch: 0, sender: idR, receiver: idI });
    expect(p.I.receive(rekey).send).toEqual([]);
    p.advance(5_000);
    expect(p.I.receive(rekey).send.map(kind)).toEqual(['init']);
    expect(p.I.status().counters.rekeys).toBe(2);
  });

  it('a REKEY lost after R restarted: R repeats it every rekeyMinMs until I starts', () => {
    const p = new Pair();
    p.start();
    p.run();
    p.R = p.session('responder');
    p.key.R = undefined;
    p.out('R', p.R.start());
    p.run(loseFirst('rekey', 1));
    expect(p.key.R).toBeUndefined();
    expect(p.R.status().state).toBe('waiting');
    expect(p.R.nextWakeAt()).toBe(p.t + 5000);
    p.advance(5_000);
    expect(p.agreed()).toBe(true);
    expect(p.R.status().counters.rekeys).toBe(2);
  });

  it('a peer key change: I starts a new exchange at once; R drops its pending ones; a stale view installs nothing', () => {
    const p = new Pair();
    p.start();
    p.run();
    expect(p.I.peerKeyChanged(p.kemR.publicKey).send).toEqual([]);
    // R gets a new KEM key (its key file was replaced and it restarted); I still holds R's old key
    p.kemR = fakeKeyPair('R2');
    p.R = p.session('responder');
    p.key.R = undefined;
    p.R.start();
    // a REKEY-started exchange under I's stale view of R's key: R cannot decapsulate it, I refuses the RESP
    p.advance(5_000);
    p.out('I', p.I.receive(encodePqMessage({ type: 'rekey', epoch: 0, sender: idR, receiver: idI })));
    p.run();
    expect(p.I.status().counters.badResp).toBeGreaterThanOrEqual(1);
    expect(p.key.R).toBeUndefined();
    expect(p.key.I!.epoch).toBe(1);
    // the new description arrives at I: a new exchange at once, under the new key
    const o = p.out('I', p.I.peerKeyChanged(p.kemR.publicKey));
    expect(o.send.map(kind)).toEqual(['init']);
    p.run();
    expect(p.agreed()).toBe(true);
    // responder side: I's key changes while an exchange is pending → it is dropped
    p.advance(120_000, (_b, to) => to === 'I');
    expect(p.R.status().pending).toBe(1);
    p.kemI = fakeKeyPair('I2');
    p.R.peerKeyChanged(p.kemI.publicKey);
    expect(p.R.status().pending).toBe(0);
    expect(() => p.R.peerKeyChanged(new Uint8Array(1183))).toThrow(PqSessionError);
    expect(() => p.I.peerKeyChanged(new Uint8Array(1184))).toThrow(PqSessionError);
    expect(p.I.status().state).not.toBe('stopped');
  });

  it('gives up after maxRetries resends (failed), then a fresh exchange at epoch + 1 after the backoff', () => {
    const p = new Pair();
    let blocked = true;
    p.start();
    p.run(() => blocked);
    p.advance(10_000, () => blocked);
    expect(p.sent.filter((m) => m.from === 'I').length).toBe(11); // INIT and 10 resends
    expect(p.I.status().state).toBe('exchanging');
    p.advance(1_000, () => blocked);
    expect(p.I.status()).toMatchObject({ state: 'backoff', counters: { failed: 1, exchanges: 1 } });
    const initsBefore = p.sent.filter((m) => kind(m.bytes) === 'init').length;
    // backoff 2 × retryMs, then a second failure, then 4 × retryMs
    p.advance(1_950, () => blocked);
    expect(p.sent.filter((m) => kind(m.bytes) === 'init').length).toBe(initsBefore);
    blocked = false;
    p.advance(100);
    expect(p.agreed()).toBe(true);
    expect(p.key.I!.epoch).toBe(2);
    const inits = p.sent.filter((m) => kind(m.bytes) === 'init');
    expect(epochOf(inits.at(-1)!.bytes)).toBe(2);
    expect(inits.at(-1)!.bytes).not.toEqual(inits[0]!.bytes);
    expect(p.I.status().counters).toMatchObject({ failed: 1, exchanges: 2, installs: 1 });
  });

  it('injected INITs fill R pending slots: the genuine one is refused (busy), nothing is installed anywhere', () => {
    const p = new Pair({ maxPending: 2 });
    p.start();
    p.run();
    const forged = (n: number) =>
      encodePqMessage({
        type: 'init',
        epoch: 2,
        sender: idI,
        receiver: idR,
        ciphertext: p.crypto.mlkemEncapsulate(p.kemR.publicKey, () => new Uint8Array(32).fill(n)).ciphertext,
      });
    p.advance(119_000);
    p.deliver('R', forged(1));
    p.deliver('R', forged(2));
    p.queue.length = 0;
    p.advance(1_000, (_b, to) => to === 'I' && p.t < 1_000_000 + 120_000 + 900);
    expect(p.R.status().counters.busy).toBeGreaterThanOrEqual(1);
    expect(p.key.I!.epoch).toBe(1);
    expect(p.agreed()).toBe(true);
    // the forged exchanges expire; the genuine INIT's resends then get through
    p.advance(10_000);
    expect(p.agreed()).toBe(true);
    expect(p.key.I!.epoch).toBe(2);
  });

  it('a flood of forged RESPs: at most 8 verified per retryMs (busy), the genuine one still installs later', () => {
    const p = new Pair();
    p.start();
    const init = p.queue.find((m) => m.to === 'R')!.bytes;
    p.queue.length = 0;
    const forged = (n: number) =>
      encodePqMessage({
        type: 'resp',
        epoch: 1,
        sender: idR,
        receiver: idI,
        ciphertext: new Uint8Array(1088).fill(n),
        tag: new Uint8Array(32).fill(n),
      });
    for (let n = 0; n < 20; n++) p.I.receive(forged(n));
    expect(p.I.status().counters).toMatchObject({ badResp: 8, busy: 12 });
    // within the same window the genuine RESP is not verified either: a flood can only delay
    const resp = p.R.receive(init).send[0]!;
    expect(p.I.receive(resp).install).toBeUndefined();
    p.t += 1000;
    p.out('I', p.I.receive(resp));
    expect(p.key.I?.epoch).toBe(1);
  });

  it('ignores messages of the other role, for other node pairs, malformed ones, and everything while stopped', () => {
    const p = new Pair();
    p.start();
    const init = p.queue.shift()!.bytes;
    p.queue.length = 0;
    expect(p.I.receive(init).send).toEqual([]); // an INIT to the initiator
    const other = encodePqMessage({
      type: 'rekey',
      epoch: 0,
      sender: new Uint8Array(28).fill(5),
      receiver: idI,
    });
    expect(p.I.receive(other).send).toEqual([]);
    expect(p.I.status().counters.stale).toBe(2);
    expect(p.R.receive(init.subarray(0, 100)).send).toEqual([]);
    expect(p.R.receive(undefined as unknown as Uint8Array).send).toEqual([]);
    expect(p.R.receive({ type: 'init', epoch: 1 } as unknown as PqMessage).send).toEqual([]);
    expect(p.R.status().counters.malformed).toBe(3);
    // a decoded message works as well as bytes
    const r = decodePqMessage(init);
    expect(r.ok && p.R.receive(r.value as PqMessage).send.map(kind)).toEqual(['resp']);
    p.R.stop();
    expect(p.R.receive(init).send).toEqual([]);
    expect(p.R.tick().send).toEqual([]);
    expect(p.R.status().state).toBe('stopped');
    expect(p.R.nextWakeAt()).toBeUndefined();
  });

  it('refuses bad options', () => {
    const p = new Pair();
    const base = {
      role: 'initiator' as const,
      selfId: idI,
      peerId: idR,
      selfKem: p.kemI,
      peerKem: p.kemR.publicKey,
      crypto: p.crypto,
      clock: p.clock,
    };
    expect(() => createPqSession(base)).not.toThrow();
    for (const bad of [
      { selfId: new Uint8Array(27) },
      { peerId: idI },
      { peerKem: new Uint8Array(1183) },
      { peerKem: new Uint8Array(1184) },
      { selfKem: { publicKey: new Uint8Array(10), secretKey: p.kemI.secretKey } },
      { retryMs: 0 },
      { maxRetries: -1 },
      { intervalMs: 1.5 },
    ])
      expect(() => createPqSession({ ...base, ...bad } as PqSessionOptions)).toThrow(PqSessionError);
    expect(nextPqEpoch(1)).toBe(2);
    expect(nextPqEpoch(0xffff_ffff)).toBe(1);
  });

  it.skipIf(!hasRealCrypto)(
    'end to end with the real ML-KEM-768 and HKDF of @bmx7/crypto: first key, rotation, a tampered RESP',
    () => {
      const rnd = prng(99);
      const keyPair = () => realCrypto.mlkemKeyPair!(realCrypto.mlkemGenerateSeed!(rnd.bytes));
      const p = new Pair();
      p.kemI = keyPair();
      p.kemR = keyPair();
      const session = (role: 'initiator' | 'responder') =>
        createPqSession({
          role,
          selfId: role === 'initiator' ? idI : idR,
          peerId: role === 'initiator' ? idR : idI,
          selfKem: role === 'initiator' ? p.kemI : p.kemR,
          peerKem: role === 'initiator' ? p.kemR.publicKey : p.kemI.publicKey,
          // the crypto package itself, unchanged
          crypto: bmxCrypto as unknown as PqCrypto,
          clock: p.clock,
        });
      p.I = session('initiator');
      p.R = session('responder');
      p.start();
      p.run();
      expect(p.agreed()).toBe(true);
      const first = p.key.I!.hash;
      p.advance(120_000, undefined, 1000);
      expect(p.agreed()).toBe(true);
      expect(p.key.I!.epoch).toBe(2);
      expect(p.key.I!.hash).not.toBe(first);
      // a bit flipped in the ciphertext to I: implicit rejection gives another secret, the tag fails
      p.advance(120_000, (b, to) => {
        if (to === 'I' && kind(b) === 'resp' && p.I.status().counters.badResp === 0) {
          p.deliver('I', flip(b, 68 + 1000));
          return true;
        }
        return false;
      });
      expect(p.I.status().counters.badResp).toBe(1);
      expect(p.key.I!.epoch).toBe(2);
      p.advance(1000);
      expect(p.agreed()).toBe(true);
      expect(p.key.I!.epoch).toBe(3);
      // a key that fails FIPS 203's modulus check gets no session
      expect(() => session('initiator').peerKeyChanged(new Uint8Array(1184).fill(0xff))).toThrow(
        PqSessionError,
      );
    },
  );

  it('simulation: 10 minutes at 2% loss and 1% duplication, 40 runs; keys agree at every handshake but inside the window', () => {
    const runs = Array.from({ length: 40 }, (_, i) => simulate(1000 + i, 0.02, 0.01));
    for (const r of runs) expect(r.rotations).toBeGreaterThanOrEqual(4);
    const sum = (f: (r: SimResult) => number) => runs.reduce((a, r) => a + f(r), 0);
    console.log(
      `pq-psk simulation, 40 × 600 s at 2% loss, 1% duplication: rotations per run ${Math.min(...runs.map((r) => r.rotations))}-${Math.max(...runs.map((r) => r.rotations))} (first run: ${runs[0]!.rotations}), ` +
        `${sum((r) => r.checks)} handshake checks, ${sum((r) => r.mismatches)} inside the mismatch window, ` +
        `longest mismatch ${Math.max(...runs.map((r) => r.maxMismatchMs))} ms, ${sum((r) => r.lost)} datagrams lost, ${sum((r) => r.duplicated)} duplicated`,
    );
  });

  it('simulation under stress: 10 minutes at 20% loss and 5% duplication, 10 runs', () => {
    const runs = Array.from({ length: 10 }, (_, i) => simulate(7000 + i, 0.2, 0.05));
    for (const r of runs) expect(r.rotations).toBeGreaterThanOrEqual(3);
    console.log(
      `pq-psk simulation, 10 × 600 s at 20% loss, 5% duplication: rotations per run ${runs.map((r) => r.rotations).join(',')}, ` +
        `longest mismatch ${Math.max(...runs.map((r) => r.maxMismatchMs))} ms, ${runs.reduce((a, r) => a + r.lost, 0)} datagrams lost`,
    );
  });
});

interface SimResult {
  rotations: number;
  checks: number;
  mismatches: number;
  maxMismatchMs: number;
  lost: number;
  duplicated: number;
}

/**
 * I and R for 10 minutes of virtual time at intervalMs 120 s, in 10-ms steps, each session ticked at
 * its `nextWakeAt()`; every datagram is lost with probability `loss`, else delivered after 5–40 ms,
 * and duplicated with probability `dup` (the copy up to 200 ms later). At every step where the two
 * installed keys differ, I must have installed a key R has not got yet, for no longer than one
 * retryMs per lost RESP or CONFIRM of that epoch (plus transit and step granularity); at every
 * simulated WireGuard handshake (every 120 s and 60 random moments) this is counted.
 */
function simulate(seed: number, loss: number, dup: number): SimResult {
  const rnd = prng(seed);
  const p = new Pair();
  const retryMs = 1000;
  const start = p.t;
  const end = start + 600_000;
  const inFlight: { at: number; to: Side; bytes: Uint8Array }[] = [];
  /** Dropped RESPs and CONFIRMs of each epoch after I installed it: each may cost one retryMs. */
  const lostAfterInstall = new Map<number, number>();
  const r: SimResult = { rotations: 0, checks: 0, mismatches: 0, maxMismatchMs: 0, lost: 0, duplicated: 0 };
  const send = (from: Side, o: PqOutput) => {
    if (o.install) {
      const k = { epoch: o.install.epoch, hash: fingerprint(o.install.psk), at: p.t };
      p.key[from] = k;
      p.installs[from].push(k);
    }
    for (const bytes of o.send) {
      const to: Side = from === 'I' ? 'R' : 'I';
      if (rnd.float() < loss) {
        r.lost++;
        const t = kind(bytes);
        const e = epochOf(bytes);
        if ((t === 'resp' || t === 'confirm') && p.key.I?.epoch === e)
          lostAfterInstall.set(e, (lostAfterInstall.get(e) ?? 0) + 1);
        continue;
      }
      inFlight.push({ at: p.t + 5 + Math.floor(rnd.float() * 35), to, bytes });
      if (rnd.float() < dup) {
        r.duplicated++;
        inFlight.push({ at: p.t + 5 + Math.floor(rnd.float() * 200), to, bytes });
      }
    }
  };
  const handshakes = new Set<number>();
  for (let t = start + 120_000; t <= end; t += 120_000) handshakes.add(t);
  for (let i = 0; i < 60; i++) handshakes.add(start + 10 * Math.floor((rnd.float() * 600_000) / 10));
  send('I', p.I.start());
  send('R', p.R.start());
  for (p.t = start; p.t <= end; p.t += 10) {
    inFlight.sort((a, b) => a.at - b.at);
    while (inFlight.length && inFlight[0]!.at <= p.t) {
      const m = inFlight.shift()!;
      send(m.to, (m.to === 'I' ? p.I : p.R).receive(m.bytes));
    }
    for (const [side, s] of [
      ['I', p.I],
      ['R', p.R],
    ] as const) {
      const wake = s.nextWakeAt();
      if (wake !== undefined && wake <= p.t) send(side, s.tick());
    }
    const handshake = handshakes.has(p.t);
    if (handshake) r.checks++;
    // before the very first exchange completes neither end has a key (WireGuard runs without)
    if (p.key.I === undefined) continue;
    if (!p.agreed()) {
      const ki = p.key.I;
      expect(p.key.R?.epoch ?? 0, `seed ${seed} at ${p.t - start} ms`).toBeLessThan(ki.epoch);
      const age = p.t - ki.at;
      const allowed = (1 + (lostAfterInstall.get(ki.epoch) ?? 0)) * retryMs + 100;
      expect(age, `seed ${seed} at ${p.t - start} ms`).toBeLessThanOrEqual(allowed);
      r.maxMismatchMs = Math.max(r.maxMismatchMs, age);
      if (handshake) r.mismatches++;
    }
  }
  r.rotations = p.installs.I.length - 1;
  // every key R installed is one I installed; both end on the same key; nothing was forged
  for (const k of p.installs.R)
    expect(p.installs.I.some((i) => i.hash === k.hash && i.epoch === k.epoch)).toBe(true);
  expect(p.agreed() || p.t - p.key.I!.at < 20_000).toBe(true);
  expect(p.I.status().counters.badResp + p.R.status().counters.badConfirm).toBe(0);
  return r;
}
