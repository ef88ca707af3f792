/**
 * The post-quantum PSK exchange of one WireGuard peer pair as a pure state machine
 * (docs/pq-psk.md): no timers, no sockets, no globals. The caller owns the clock and the UDP socket:
 * it calls `tick()` at `nextWakeAt()` (or every ~250 ms), hands every datagram from the peer to
 * `receive()`, sends what each call returns in `send` to the peer's primary address on port 6272,
 * and puts `install.psk` into the peer's WireGuard PSK slot.
 *
 * Roles: the initiator is the client (its device per gateway initiates the WireGuard sessions), the
 * responder the gateway (its receiving device has a peer per client). For epoch e:
 *
 *   I → R  INIT(e, ctR)            ctR, ssR = ML-KEM.Encaps(R's announced key)
 *   R → I  RESP(e, ctI, tagR)      ssR = Decaps(ctR); ctI, ssI = Encaps(I's key); derive; R keeps it pending
 *   I → R  CONFIRM(e, tagI)        I checks tagR, installs the PSK, confirms; R checks tagI and installs
 *
 * A message that does not verify installs nothing, and the key in use stays. Secrets (shared
 * secrets, confirmation keys, PSKs) live only inside the closure; `status()` carries none, and the
 * PSK of an `install` is not enumerable, so neither JSON nor a log line prints it.
 */
import type { PqPskInput } from '@bmx7/crypto';
import {
  decodePqMessage,
  encodePqMessage,
  PQ_MAX_EPOCH,
  PQ_NODE_ID_LEN,
  type PqMessage,
  type PqResp,
} from './messages.js';

/** An ML-KEM-768 public (encapsulation) key, FIPS 203. */
export const PQ_KEM_PUBLIC_KEY_LEN = 1184;

/** Defaults (docs/pq-psk.md "Configuration"). */
export const DEFAULT_PQ_PSK_INTERVAL_MS = 120_000;
export const DEFAULT_PQ_RETRY_MS = 1000;
export const DEFAULT_PQ_MAX_RETRIES = 10;
export const DEFAULT_PQ_PENDING_TIMEOUT_MS = 10_000;
export const DEFAULT_PQ_REKEY_MIN_MS = 5000;
/** Pending exchanges a responder keeps per peer; further INITs are refused until one ends. */
export const DEFAULT_PQ_MAX_PENDING = 4;
/**
 * RESPs an initiator verifies (a decapsulation each) per `retryMs` at most: a genuine exchange needs
 * one or two, so a flood of forged RESPs costs bounded work and can only delay the exchange.
 */
export const PQ_MAX_RESP_VERIFY_PER_RETRY = 8;

export type PqRole = 'initiator' | 'responder';

/** What both ends feed into the key derivation (docs/pq-psk.md "Derivation"): @bmx7/crypto's input. */
export type PqDeriveInput = PqPskInput;

/**
 * The primitives the exchange needs, as @bmx7/crypto exports them (the module itself can be passed);
 * tests inject fakes.
 */
export interface PqCrypto {
  /** ML-KEM-768 encapsulation to a public key: a 1088-byte ciphertext and a 32-byte secret. */
  mlkemEncapsulate(
    publicKey: Uint8Array,
    random?: (n: number) => Uint8Array,
  ): { ciphertext: Uint8Array; sharedSecret: Uint8Array };
  /** ML-KEM-768 decapsulation; a tampered ciphertext gives an unrelated secret (no throw). */
  mlkemDecapsulate(ciphertext: Uint8Array, secretKey: Uint8Array): Uint8Array;
  /** The PSK and the key confirmation key of one exchange. */
  derivePqPsk(input: PqDeriveInput): { psk: Uint8Array; confirmKey: Uint8Array };
  /** A role's confirmation tag for an epoch, 32 bytes. */
  pqConfirmTag(confirmKey: Uint8Array, role: PqRole, epoch: number): Uint8Array;
  /** Constant-time tag comparison. */
  pqTagEqual(a: Uint8Array, b: Uint8Array): boolean;
}

export interface PqKemKeyPair {
  /** ML-KEM-768 public key, 1184 bytes (announced in the PQ_KEM TLV). */
  readonly publicKey: Uint8Array;
  /** ML-KEM-768 secret key. */
  readonly secretKey: Uint8Array;
}

export interface PqSessionOptions {
  readonly role: PqRole;
  /** This node's id, 28 bytes. */
  readonly selfId: Uint8Array;
  /** The peer's node id, 28 bytes. */
  readonly peerId: Uint8Array;
  readonly selfKem: PqKemKeyPair;
  /** The peer's announced ML-KEM-768 public key, 1184 bytes. */
  readonly peerKem: Uint8Array;
  readonly crypto: PqCrypto;
  readonly clock: { now(): number };
  /** Initiator: a new exchange this long after the last install (`pqPskInterval`, 120 s). */
  readonly intervalMs?: number;
  /** Resend period of INIT (initiator) and RESP (responder), 1 s. */
  readonly retryMs?: number;
  /** Initiator: INIT resends before an exchange fails, 10. */
  readonly maxRetries?: number;
  /** Responder: how long an exchange stays pending without CONFIRM, 10 s. */
  readonly pendingTimeoutMs?: number;
  /** The least time between REKEYs sent (responder), and between exchanges REKEY starts (initiator), 5 s. */
  readonly rekeyMinMs?: number;
  /** Responder: pending exchanges at most, 4. */
  readonly maxPending?: number;
  /** Randomness for the encapsulations (default: the crypto's own). */
  readonly random?: (n: number) => Uint8Array;
}

/** A PSK to put into the peer's WireGuard PSK slot; `psk` is not enumerable. */
export interface PqInstall {
  readonly epoch: number;
  readonly psk: Uint8Array;
}

/** What a call asks of the caller: datagrams to send to the peer, and maybe a PSK to install. */
export interface PqOutput {
  readonly send: Uint8Array[];
  readonly install?: PqInstall;
}

export type PqInitiatorState = 'stopped' | 'exchanging' | 'backoff' | 'established';
export type PqResponderState = 'stopped' | 'waiting' | 'pending' | 'established';

export interface PqCounters {
  /** Initiator: exchanges started (INITs with a new encapsulation). Responder: INITs answered anew. */
  exchanges: number;
  /** PSKs installed. */
  installs: number;
  /** Initiator: RESPs of the running exchange whose tag did not verify. */
  badResp: number;
  /** Responder: CONFIRMs for a pending epoch whose tag did not verify. */
  badConfirm: number;
  /** Messages for no pending exchange, another epoch, the other role, or another node pair. */
  stale: number;
  /** Responder: pending exchanges dropped after `pendingTimeoutMs` without CONFIRM. */
  expired: number;
  /** Initiator: exchanges given up after `maxRetries` resends. */
  failed: number;
  /** Responder: REKEYs sent. Initiator: exchanges started because of a REKEY. */
  rekeys: number;
  /** Exact repeats, answered from the cache (INIT → RESP, RESP → CONFIRM) or dropped. */
  duplicates: number;
  /**
   * Responder: new INITs refused because `maxPending` exchanges were pending. Initiator: RESPs left
   * unverified beyond `PQ_MAX_RESP_VERIFY_PER_RETRY` per `retryMs`.
   */
  busy: number;
  /** Datagrams that are no valid message (`receive` of raw bytes). */
  malformed: number;
}

/** A session's state for `show=wg` and logs: no key material. */
export interface PqSessionStatus {
  readonly role: PqRole;
  readonly state: PqInitiatorState | PqResponderState;
  /** 'pq' once a PSK was installed. */
  readonly pskSource: 'pq' | 'none';
  /** Epoch of the installed PSK. */
  readonly epoch: number | undefined;
  /** Clock time of the install. */
  readonly installedAt: number | undefined;
  /** now − installedAt. */
  readonly keyAgeMs: number | undefined;
  /** Initiator: epoch of the running exchange. */
  readonly exchangeEpoch: number | undefined;
  /** Responder: pending exchanges. */
  readonly pending: number;
  readonly counters: Readonly<PqCounters>;
}

export interface PqSession {
  readonly role: PqRole;
  /** Starts: the initiator sends INIT at once, a responder without a key REKEY. */
  start(): PqOutput;
  /** Timers: resends, give-ups, expiries, rotation, REKEY. */
  tick(): PqOutput;
  /** A datagram (or a decoded message) from the peer. */
  receive(msg: Uint8Array | PqMessage): PqOutput;
  /**
   * The peer announced another KEM key: a new exchange (initiator), pending ones dropped (responder).
   * Throws `PqSessionError`, and keeps the old key, for a key that is no usable ML-KEM-768 key: the
   * caller then stops the session.
   */
  peerKeyChanged(peerKem: Uint8Array): PqOutput;
  /** Stops and wipes the secrets it holds; the counters stay readable. */
  stop(): PqOutput;
  /** When `tick()` has something to do next; undefined while stopped. */
  nextWakeAt(): number | undefined;
  status(): PqSessionStatus;
}

/**
 * Thrown by `createPqSession` and `peerKeyChanged` for arguments of the wrong size or range, and for a
 * peer key the KEM refuses.
 */
export class PqSessionError extends Error {
  override readonly name = 'PqSessionError';
  readonly code = 'ERR_PQ_SESSION';
}

/** The epoch after `e`: epochs are u32 labels, and after 2³²−1 comes 1. */
export function nextPqEpoch(e: number): number {
  return e >= PQ_MAX_EPOCH ? 1 : e + 1;
}

function same(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function checkBytes(v: unknown, len: number, what: string): Uint8Array {
  if (!(v instanceof Uint8Array) || v.length !== len)
    throw new PqSessionError(
      `${what} must be ${len} bytes, got ${v instanceof Uint8Array ? v.length : typeof v}`,
    );
  return Uint8Array.from(v);
}

/**
 * The peer's key, checked by a trial encapsulation: FIPS 203 refuses an encapsulation key whose
 * coefficients are not reduced (the modulus check), and the announcement's length check cannot see
 * that. A refused key gets no session.
 */
function checkPeerKem(crypto: PqCrypto, v: unknown): Uint8Array {
  const key = checkBytes(v, PQ_KEM_PUBLIC_KEY_LEN, 'peerKem');
  try {
    crypto.mlkemEncapsulate(key).sharedSecret.fill(0);
  } catch (e) {
    throw new PqSessionError('peerKem is not a usable ML-KEM-768 public key', { cause: e });
  }
  return key;
}

function checkInt(v: number | undefined, dflt: number, min: number, what: string): number {
  const n = v ?? dflt;
  if (!Number.isInteger(n) || n < min)
    throw new PqSessionError(`${what} must be an integer ≥ ${min}, got ${n}`);
  return n;
}

/** A datagram decoded, or a decoded message checked (it must encode); undefined when invalid. */
function messageOf(msg: unknown): PqMessage | undefined {
  if (msg instanceof Uint8Array) {
    const r = decodePqMessage(msg);
    return r.ok ? r.value : undefined;
  }
  if (typeof msg !== 'object' || msg === null) return undefined;
  try {
    encodePqMessage(msg as PqMessage);
    return msg as PqMessage;
  } catch {
    return undefined;
  }
}

/** An output with nothing to do (a new one each time: callers may add to its array). */
const nothing = (): PqOutput => ({ send: [] });

function output(send: Uint8Array[], install?: { psk: Uint8Array; epoch: number }): PqOutput {
  if (!install) return { send };
  const inst = { epoch: install.epoch } as { epoch: number; psk: Uint8Array };
  Object.defineProperty(inst, 'psk', { value: install.psk, enumerable: false });
  return { send, install: Object.freeze(inst) };
}

/** Initiator: the running exchange. */
interface Exchange {
  readonly epoch: number;
  readonly ctR: Uint8Array;
  readonly ssR: Uint8Array;
  readonly init: Uint8Array;
  resends: number;
  nextSendAt: number;
}

/** Responder: an answered INIT waiting for its CONFIRM. */
interface Pending {
  readonly seq: number;
  readonly epoch: number;
  readonly ctR: Uint8Array;
  readonly resp: Uint8Array;
  readonly psk: Uint8Array;
  /** The initiator's tag that confirms it. */
  readonly expectTag: Uint8Array;
  readonly createdAt: number;
  nextResendAt: number;
}

export function createPqSession(o: PqSessionOptions): PqSession {
  const role = o.role;
  if (role !== 'initiator' && role !== 'responder') throw new PqSessionError(`unknown role ${String(role)}`);
  const selfId = checkBytes(o.selfId, PQ_NODE_ID_LEN, 'selfId');
  const peerId = checkBytes(o.peerId, PQ_NODE_ID_LEN, 'peerId');
  if (same(selfId, peerId)) throw new PqSessionError('selfId and peerId are the same node');
  const selfPublic = checkBytes(o.selfKem?.publicKey, PQ_KEM_PUBLIC_KEY_LEN, 'selfKem.publicKey');
  const selfSecret = o.selfKem.secretKey;
  if (!(selfSecret instanceof Uint8Array) || selfSecret.length === 0)
    throw new PqSessionError('selfKem.secretKey must be a byte array');
  let peerKem = checkPeerKem(o.crypto, o.peerKem);
  const intervalMs = checkInt(o.intervalMs, DEFAULT_PQ_PSK_INTERVAL_MS, 1, 'intervalMs');
  const retryMs = checkInt(o.retryMs, DEFAULT_PQ_RETRY_MS, 1, 'retryMs');
  const maxRetries = checkInt(o.maxRetries, DEFAULT_PQ_MAX_RETRIES, 0, 'maxRetries');
  const pendingTimeoutMs = checkInt(o.pendingTimeoutMs, DEFAULT_PQ_PENDING_TIMEOUT_MS, 1, 'pendingTimeoutMs');
  const rekeyMinMs = checkInt(o.rekeyMinMs, DEFAULT_PQ_REKEY_MIN_MS, 0, 'rekeyMinMs');
  const maxPending = checkInt(o.maxPending, DEFAULT_PQ_MAX_PENDING, 1, 'maxPending');
  const { crypto, clock, random } = o;

  const counters: PqCounters = {
    exchanges: 0,
    installs: 0,
    badResp: 0,
    badConfirm: 0,
    stale: 0,
    expired: 0,
    failed: 0,
    rekeys: 0,
    duplicates: 0,
    busy: 0,
    malformed: 0,
  };
  let running = false;
  /** The installed PSK's epoch and time (the PSK itself went to the caller). */
  let installed: { readonly epoch: number; readonly at: number } | undefined;

  // initiator
  let exchange: Exchange | undefined;
  /** The RESP that installed the current key, and the CONFIRM that answers its repeats. */
  let accepted: { readonly resp: PqResp; readonly confirm: Uint8Array } | undefined;
  let lastEpoch = 0;
  let lastStartAt = Number.NEGATIVE_INFINITY;
  /** Consecutive failed exchanges (backoff exponent). */
  let failures = 0;
  let retryAt: number | undefined;
  /** RESP verifications in the current `retryMs` window. */
  let verifyWindowAt = Number.NEGATIVE_INFINITY;
  let verifyCount = 0;

  // responder
  let pending: Pending[] = [];
  let seq = 0;
  /** The installed exchange's INIT ciphertext and CONFIRM tag, to recognise their repeats. */
  let confirmed: { readonly epoch: number; readonly ctR: Uint8Array; readonly tag: Uint8Array } | undefined;
  let lastRekeyAt = Number.NEGATIVE_INFINITY;
  /** A pending exchange expired after its RESP went out: I may hold a key R never got. */
  let rekeyDue = false;

  const encapsulate = (publicKey: Uint8Array) =>
    random ? crypto.mlkemEncapsulate(publicKey, random) : crypto.mlkemEncapsulate(publicKey);

  const wipeExchange = (): void => {
    exchange?.ssR.fill(0);
    exchange = undefined;
  };
  const wipePending = (p: Pending): void => {
    p.psk.fill(0);
    p.expectTag.fill(0);
  };
  const dropPending = (): void => {
    for (const p of pending) wipePending(p);
    pending = [];
  };

  // ---- initiator

  /** A new exchange, epoch + 1: a fresh encapsulation to the peer's key; returns the INIT. */
  const beginExchange = (t: number): Uint8Array => {
    wipeExchange();
    const epoch = nextPqEpoch(lastEpoch);
    lastEpoch = epoch;
    const enc = encapsulate(peerKem);
    const init = encodePqMessage({
      type: 'init',
      epoch,
      sender: selfId,
      receiver: peerId,
      ciphertext: enc.ciphertext,
    });
    exchange = {
      epoch,
      ctR: enc.ciphertext,
      ssR: enc.sharedSecret,
      init,
      resends: 0,
      nextSendAt: t + retryMs,
    };
    retryAt = undefined;
    lastStartAt = t;
    counters.exchanges++;
    return init;
  };

  const backoffMs = (k: number): number => Math.min(retryMs * 2 ** Math.min(k, 30), intervalMs);

  const initiatorTick = (t: number): PqOutput => {
    if (exchange) {
      if (t < exchange.nextSendAt) return nothing();
      if (exchange.resends < maxRetries) {
        exchange.resends++;
        exchange.nextSendAt = t + retryMs;
        return output([exchange.init]);
      }
      counters.failed++;
      failures++;
      wipeExchange();
      retryAt = t + backoffMs(failures);
      return nothing();
    }
    if (retryAt !== undefined) return t >= retryAt ? output([beginExchange(t)]) : nothing();
    if (!installed || t >= installed.at + intervalMs) return output([beginExchange(t)]);
    return nothing();
  };

  const onResp = (m: PqResp, t: number): PqOutput => {
    if (
      accepted &&
      m.epoch === accepted.resp.epoch &&
      same(m.ciphertext, accepted.resp.ciphertext) &&
      same(m.tag, accepted.resp.tag)
    ) {
      // R did not get the CONFIRM yet: the same answer again
      counters.duplicates++;
      return output([accepted.confirm]);
    }
    const x = exchange;
    if (!x || m.epoch !== x.epoch) {
      counters.stale++;
      return nothing();
    }
    if (t - verifyWindowAt >= retryMs) {
      verifyWindowAt = t;
      verifyCount = 0;
    }
    if (verifyCount >= PQ_MAX_RESP_VERIFY_PER_RETRY) {
      counters.busy++;
      return nothing();
    }
    verifyCount++;
    const ssI = crypto.mlkemDecapsulate(m.ciphertext, selfSecret);
    const d = crypto.derivePqPsk({
      initiatorId: selfId,
      responderId: peerId,
      initiatorKem: selfPublic,
      responderKem: peerKem,
      ctToResponder: x.ctR,
      ctToInitiator: m.ciphertext,
      ssResponder: x.ssR,
      ssInitiator: ssI,
      epoch: x.epoch,
    });
    ssI.fill(0);
    if (!crypto.pqTagEqual(crypto.pqConfirmTag(d.confirmKey, 'responder', x.epoch), m.tag)) {
      d.psk.fill(0);
      d.confirmKey.fill(0);
      counters.badResp++;
      return nothing();
    }
    const tag = crypto.pqConfirmTag(d.confirmKey, 'initiator', x.epoch);
    d.confirmKey.fill(0);
    const confirm = encodePqMessage({
      type: 'confirm',
      epoch: x.epoch,
      sender: selfId,
      receiver: peerId,
      tag,
    });
    accepted = { resp: m, confirm };
    installed = { epoch: x.epoch, at: t };
    counters.installs++;
    failures = 0;
    wipeExchange();
    return output([confirm], { psk: d.psk, epoch: x.epoch });
  };

  const onRekey = (t: number): PqOutput => {
    // unauthenticated: it can only start an exchange, none while one runs, one per rekeyMinMs
    if (exchange || t - lastStartAt < rekeyMinMs) return nothing();
    counters.rekeys++;
    return output([beginExchange(t)]);
  };

  // ---- responder

  const rekeyMessage = (): Uint8Array =>
    encodePqMessage({ type: 'rekey', epoch: installed?.epoch ?? 0, sender: selfId, receiver: peerId });

  const wantsRekey = (): boolean => pending.length === 0 && (!installed || rekeyDue);

  const responderTick = (t: number): PqOutput => {
    const send: Uint8Array[] = [];
    const kept: Pending[] = [];
    for (const p of pending) {
      if (t >= p.createdAt + pendingTimeoutMs) {
        counters.expired++;
        wipePending(p);
        rekeyDue = true;
        continue;
      }
      kept.push(p);
      if (t >= p.nextResendAt) {
        p.nextResendAt = t + retryMs;
        send.push(p.resp);
      }
    }
    pending = kept;
    if (wantsRekey() && t - lastRekeyAt >= rekeyMinMs) {
      lastRekeyAt = t;
      counters.rekeys++;
      send.push(rekeyMessage());
    }
    return send.length ? output(send) : nothing();
  };

  const onInit = (m: PqMessage & { type: 'init' }, t: number): PqOutput => {
    if (confirmed && m.epoch === confirmed.epoch && same(m.ciphertext, confirmed.ctR)) {
      // a late copy of the INIT whose exchange is installed on both ends
      counters.duplicates++;
      return nothing();
    }
    const known = pending.find((p) => p.epoch === m.epoch && same(p.ctR, m.ciphertext));
    if (known) {
      counters.duplicates++;
      return output([known.resp]);
    }
    if (pending.length >= maxPending) {
      counters.busy++;
      return nothing();
    }
    const ssR = crypto.mlkemDecapsulate(m.ciphertext, selfSecret);
    const enc = encapsulate(peerKem);
    const d = crypto.derivePqPsk({
      initiatorId: peerId,
      responderId: selfId,
      initiatorKem: peerKem,
      responderKem: selfPublic,
      ctToResponder: m.ciphertext,
      ctToInitiator: enc.ciphertext,
      ssResponder: ssR,
      ssInitiator: enc.sharedSecret,
      epoch: m.epoch,
    });
    ssR.fill(0);
    enc.sharedSecret.fill(0);
    const tag = crypto.pqConfirmTag(d.confirmKey, 'responder', m.epoch);
    const expectTag = crypto.pqConfirmTag(d.confirmKey, 'initiator', m.epoch);
    d.confirmKey.fill(0);
    const resp = encodePqMessage({
      type: 'resp',
      epoch: m.epoch,
      sender: selfId,
      receiver: peerId,
      ciphertext: enc.ciphertext,
      tag,
    });
    pending.push({
      seq: ++seq,
      epoch: m.epoch,
      ctR: m.ciphertext,
      resp,
      psk: d.psk,
      expectTag,
      createdAt: t,
      nextResendAt: t + retryMs,
    });
    counters.exchanges++;
    rekeyDue = false;
    return output([resp]);
  };

  const onConfirm = (m: PqMessage & { type: 'confirm' }, t: number): PqOutput => {
    if (confirmed && m.epoch === confirmed.epoch && same(m.tag, confirmed.tag)) {
      counters.duplicates++;
      return nothing();
    }
    const candidates = pending.filter((p) => p.epoch === m.epoch);
    if (candidates.length === 0) {
      counters.stale++;
      return nothing();
    }
    // every candidate is checked, so the time does not tell which one matched
    let match: Pending | undefined;
    for (const p of candidates) if (crypto.pqTagEqual(p.expectTag, m.tag) && !match) match = p;
    if (!match) {
      counters.badConfirm++;
      return nothing();
    }
    const psk = Uint8Array.from(match.psk);
    // this exchange and every older one end; newer ones stay (their CONFIRM may follow)
    const rest: Pending[] = [];
    for (const p of pending) {
      if (p.seq <= match.seq) wipePending(p);
      else rest.push(p);
    }
    pending = rest;
    confirmed = { epoch: m.epoch, ctR: match.ctR, tag: m.tag };
    installed = { epoch: m.epoch, at: t };
    counters.installs++;
    rekeyDue = false;
    return output([], { psk, epoch: m.epoch });
  };

  // ---- both

  const stateName = (): PqInitiatorState | PqResponderState => {
    if (!running) return 'stopped';
    if (role === 'initiator')
      return exchange ? 'exchanging' : retryAt !== undefined ? 'backoff' : 'established';
    return pending.length ? 'pending' : installed ? 'established' : 'waiting';
  };

  return {
    role,
    start() {
      if (running) return nothing();
      running = true;
      const t = clock.now();
      if (role === 'initiator') return output([beginExchange(t)]);
      return responderTick(t);
    },
    tick() {
      if (!running) return nothing();
      const t = clock.now();
      return role === 'initiator' ? initiatorTick(t) : responderTick(t);
    },
    receive(msg) {
      if (!running) return nothing();
      const m = messageOf(msg);
      if (!m) {
        counters.malformed++;
        return nothing();
      }
      if (!same(m.sender, peerId) || !same(m.receiver, selfId)) {
        counters.stale++;
        return nothing();
      }
      const t = clock.now();
      if (role === 'initiator') {
        if (m.type === 'resp') return onResp(m, t);
        if (m.type === 'rekey') return onRekey(t);
      } else {
        if (m.type === 'init') return onInit(m, t);
        if (m.type === 'confirm') return onConfirm(m, t);
      }
      counters.stale++;
      return nothing();
    },
    peerKeyChanged(kem) {
      const next = checkPeerKem(crypto, kem);
      if (same(next, peerKem)) return nothing();
      peerKem = next;
      if (role === 'responder') {
        // they were encapsulated to, and derived with, the old key
        dropPending();
        return nothing();
      }
      wipeExchange();
      retryAt = undefined;
      failures = 0;
      return running ? output([beginExchange(clock.now())]) : nothing();
    },
    stop() {
      running = false;
      wipeExchange();
      retryAt = undefined;
      dropPending();
      return nothing();
    },
    nextWakeAt() {
      if (!running) return undefined;
      if (role === 'initiator') {
        if (exchange) return exchange.nextSendAt;
        if (retryAt !== undefined) return retryAt;
        return installed ? installed.at + intervalMs : clock.now();
      }
      let next = Number.POSITIVE_INFINITY;
      for (const p of pending) next = Math.min(next, p.nextResendAt, p.createdAt + pendingTimeoutMs);
      if (wantsRekey()) next = Math.min(next, Math.max(lastRekeyAt + rekeyMinMs, clock.now()));
      return Number.isFinite(next) ? next : undefined;
    },
    status() {
      const t = clock.now();
      return {
        role,
        state: stateName(),
        pskSource: installed ? 'pq' : 'none',
        epoch: installed?.epoch,
        installedAt: installed?.at,
        keyAgeMs: installed ? t - installed.at : undefined,
        exchangeEpoch: exchange?.epoch,
        pending: pending.length,
        counters: { ...counters },
      };
    },
  };
}
