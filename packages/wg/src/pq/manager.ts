/**
 * The post-quantum PSK exchanges of one node (docs/pq-psk.md): one session per WireGuard peer pair
 * crypt-tun has, initiator towards each gateway the node tunnels to, responder for each client on
 * its receiving device. It owns the clock and the transport the pure sessions (session.ts) leave to
 * their caller: it routes each datagram to its session by sender and type, sends what sessions
 * return to the peer's primary address, wakes them when they ask, and keeps the installed PSKs,
 * telling the plugin when one changed. PSKs are never enumerable and never leave it except to the
 * WireGuard device.
 */
import type { Clock } from '@bmx7/core';
import { decodePqMessage } from './messages.js';
import {
  createPqSession,
  type PqCrypto,
  type PqKemKeyPair,
  type PqOutput,
  type PqRole,
  type PqSession,
  type PqSessionStatus,
} from './session.js';
import type { PqTransport } from './transport.js';

/** One pair crypt-tun wants a PQ PSK for. */
export interface PqPair {
  /** The peer's node id (hex). */
  readonly nodeId: string;
  readonly role: PqRole;
  /** The peer's primary address (where its exchange socket listens). */
  readonly ip: string;
  /** The peer's announced ML-KEM-768 public key. */
  readonly kem: Uint8Array;
}

export interface PqManagerOptions {
  /** This node's id, hex. */
  readonly selfId: string;
  readonly selfKem: PqKemKeyPair;
  readonly crypto: PqCrypto;
  readonly clock: Clock;
  readonly transport: PqTransport;
  readonly intervalMs?: number;
  readonly log?: (level: 0 | 2 | 3 | 4, msg: string, fields?: Record<string, unknown>) => void;
  /** A PSK was installed for a peer (the plugin reconfigures the peer's WireGuard entry). */
  readonly onInstall: (nodeId: string, role: PqRole) => void;
}

export interface PqManager {
  /** The complete set of pairs: sessions start, stop, or learn a peer's new key. */
  setPairs(pairs: readonly PqPair[]): void;
  /** The installed PSK of a pair (not enumerable), and its epoch. */
  psk(
    nodeId: string,
    role: PqRole,
  ): { readonly epoch: number; readonly installedAt: number; readonly psk: Uint8Array } | undefined;
  status(nodeId: string, role: PqRole): PqSessionStatus | undefined;
  /** The interval in use; changing it restarts nothing (it applies from the next install). */
  setInterval(ms: number): void;
  close(): void;
}

const hexOf = (b: Uint8Array) => Buffer.from(b).toString('hex');
const sameBytes = (a: Uint8Array, b: Uint8Array) =>
  a.length === b.length && Buffer.from(a).equals(Buffer.from(b));

interface Entry {
  pair: PqPair;
  session: PqSession;
  installed?: { epoch: number; installedAt: number; psk: Uint8Array };
  /** REKEYs sent since the peer was last heard from or a key was installed. */
  rekeysUnanswered: number;
}

/**
 * REKEYs a responder sends without hearing from the peer before it falls silent: a gateway has a
 * session for every client that may use it, and most never do; one that does answers at once.
 */
export const PQ_MAX_UNANSWERED_REKEYS = 3;
/** The type byte of a REKEY (docs/pq-psk.md "Messages"). */
const REKEY_TYPE = 4;
const TYPE_OFFSET = 5;

export function createPqManager(o: PqManagerOptions): PqManager {
  const entries = new Map<string, Entry>();
  const key = (nodeId: string, role: PqRole) => `${role}:${nodeId.toLowerCase()}`;
  const selfId = Uint8Array.from(Buffer.from(o.selfId, 'hex'));
  let intervalMs = o.intervalMs;
  let cancelWake: (() => void) | undefined;
  let wakeAt: number | undefined;
  let closed = false;

  const apply = (e: Entry, out: PqOutput) => {
    for (const m of out.send) {
      if (m[TYPE_OFFSET] === REKEY_TYPE) {
        if (e.rekeysUnanswered >= PQ_MAX_UNANSWERED_REKEYS) continue;
        e.rekeysUnanswered++;
      }
      o.transport.send(e.pair.ip, m);
    }
    if (out.install) {
      e.rekeysUnanswered = 0;
      const inst = { epoch: out.install.epoch, installedAt: o.clock.now() } as {
        epoch: number;
        installedAt: number;
        psk: Uint8Array;
      };
      Object.defineProperty(inst, 'psk', { value: out.install.psk, enumerable: false });
      e.installed = inst;
      o.log?.(3, 'post-quantum PSK installed', {
        peer: e.pair.nodeId.slice(0, 8).toUpperCase(),
        role: e.pair.role,
        epoch: inst.epoch,
      });
      o.onInstall(e.pair.nodeId, e.pair.role);
    }
  };

  /** Wakes at the earliest time a session asked for. */
  const arm = () => {
    if (closed) return;
    let next: number | undefined;
    for (const e of entries.values()) {
      const t = e.session.nextWakeAt();
      if (t !== undefined && (next === undefined || t < next)) next = t;
    }
    if (next === wakeAt) return;
    cancelWake?.();
    cancelWake = undefined;
    wakeAt = next;
    if (next === undefined) return;
    cancelWake = o.clock.schedule(Math.max(0, next - o.clock.now()), () => {
      cancelWake = undefined;
      wakeAt = undefined;
      for (const e of [...entries.values()]) guarded(e, () => e.session.tick());
      arm();
    });
  };

  const guarded = (
    e: Entry,
    fn: () => { send: Uint8Array[]; install?: { epoch: number; psk: Uint8Array } },
  ) => {
    try {
      apply(e, fn());
    } catch (err) {
      o.log?.(0, 'post-quantum PSK session failed', {
        peer: e.pair.nodeId.slice(0, 8).toUpperCase(),
        role: e.pair.role,
        error: (err as Error).message,
      });
    }
  };

  o.transport.onMessage((_from, payload) => {
    if (closed) return;
    const d = decodePqMessage(payload);
    if (!d.ok) return;
    if (!sameBytes(d.value.receiver, selfId)) return;
    // INIT and CONFIRM are for a responder, RESP and REKEY for an initiator
    const role: PqRole = d.value.type === 'init' || d.value.type === 'confirm' ? 'responder' : 'initiator';
    const e = entries.get(key(hexOf(d.value.sender), role));
    if (!e) return;
    e.rekeysUnanswered = 0;
    guarded(e, () => e.session.receive(d.value));
    arm();
  });

  return {
    setPairs(pairs) {
      if (closed) return;
      const wanted = new Map(pairs.map((p) => [key(p.nodeId, p.role), p] as const));
      for (const [k, e] of entries) {
        if (wanted.has(k)) continue;
        e.session.stop();
        entries.delete(k);
      }
      for (const [k, p] of wanted) {
        const e = entries.get(k);
        if (e) {
          // a peer that announced another key: its session starts over with it
          const had = e.pair.kem;
          e.pair = { ...p };
          if (sameBytes(had, p.kem)) continue;
          try {
            apply(e, e.session.peerKeyChanged(p.kem));
          } catch (err) {
            o.log?.(2, 'peer KEM key refused: its session stops', {
              peer: p.nodeId.slice(0, 8).toUpperCase(),
              error: (err as Error).message,
            });
            e.session.stop();
            entries.delete(k);
          }
          continue;
        }
        let session: PqSession;
        try {
          session = createPqSession({
            role: p.role,
            selfId,
            peerId: Uint8Array.from(Buffer.from(p.nodeId, 'hex')),
            selfKem: o.selfKem,
            peerKem: p.kem,
            crypto: o.crypto,
            clock: o.clock,
            ...(intervalMs === undefined ? {} : { intervalMs }),
          });
        } catch (err) {
          o.log?.(2, 'no post-quantum PSK with this peer', {
            peer: p.nodeId.slice(0, 8).toUpperCase(),
            error: (err as Error).message,
          });
          continue;
        }
        const ne: Entry = { pair: { ...p }, session, rekeysUnanswered: 0 };
        entries.set(k, ne);
        guarded(ne, () => session.start());
      }
      arm();
    },
    psk(nodeId, role) {
      return entries.get(key(nodeId, role))?.installed;
    },
    status(nodeId, role) {
      return entries.get(key(nodeId, role))?.session.status();
    },
    setInterval(ms) {
      intervalMs = ms;
    },
    close() {
      closed = true;
      cancelWake?.();
      for (const e of entries.values()) e.session.stop();
      entries.clear();
      o.transport.close();
    },
  };
}
