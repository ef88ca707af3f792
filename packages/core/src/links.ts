/**
 * Link sensing (docs/protocol.md §4.10 "Link sensing"): the HELLO receive window per link, rq from it,
 * tq from HELLO_REPLY, and the time-aware values. Plain data and functions; the engine owns the
 * link records.
 */
import { timeAware } from './metrics.js';

const SQN_MASK = 0xffff;
const HELLO_LATE_DUPLICATES = 4; // (M − s) mod 2^16 < 4 → late duplicate

/** The receive window of one link (neighbour devIdx × own interface). */
export interface HelloWindow {
  /** Last hello sqn on this link, or -1 before the first. */
  last: number;
  /** 128-bit map indexed by sqn mod 128. */
  map: Uint8Array;
  /** Number of set bits inside the window. */
  count: number;
}

export function newHelloWindow(): HelloWindow {
  return { last: -1, map: new Uint8Array(16), count: 0 };
}

const bit = (m: Uint8Array, s: number) => (m[(s & 127) >> 3]! >> (s & 7)) & 1;
const setBit = (m: Uint8Array, s: number, v: 0 | 1) => {
  const i = (s & 127) >> 3;
  m[i] = v ? m[i]! | (1 << (s & 7)) : m[i]! & ~(1 << (s & 7));
};

/**
 * True when hello `s` is a late duplicate given the last sqn M seen from the neighbour's interface
 * over all own interfaces (§4.10).
 */
export function isLateHello(s: number, lastOfNbDev: number | undefined): boolean {
  if (lastOfNbDev === undefined) return false;
  return s !== lastOfNbDev && ((lastOfNbDev - s) & SQN_MASK) < HELLO_LATE_DUPLICATES;
}

/** Records hello `s` in the window (§4.10) and returns the new rq = ⌊255·n/window⌋. */
export function recordHello(w: HelloWindow, s: number, linkWindow: number): number {
  const d = (s - w.last) & SQN_MASK;
  if (w.last < 0 || d >= linkWindow) {
    w.map.fill(0);
    setBit(w.map, s, 1);
    w.count = 1;
  } else {
    // clear sqns m−(W−1) … s−W, i.e. those leaving the window
    for (let k = 0; k < d; k++) {
      const old = (w.last - linkWindow + 1 + k) & SQN_MASK;
      if (bit(w.map, old)) {
        setBit(w.map, old, 0);
        w.count--;
      }
    }
    if (!bit(w.map, s)) {
      setBit(w.map, s, 1);
      w.count++;
    }
  }
  w.last = s;
  return Math.floor((255 * w.count) / linkWindow);
}

/** Link quality values with their timestamps. */
export interface LinkQuality {
  rq: number;
  rqTime: number;
  tq: number;
  tqTime: number;
}

export function timeAwareRq(q: LinkQuality, now: number, linkTimeoutMs: number): number {
  return q.rqTime < 0 ? 0 : timeAware(q.rq, now - q.rqTime, linkTimeoutMs);
}

export function timeAwareTq(q: LinkQuality, now: number, linkTimeoutMs: number): number {
  return q.tqTime < 0 ? 0 : timeAware(q.tq, now - q.tqTime, linkTimeoutMs);
}

/** "lq ok" (§4.10): time-aware rq and tq of the same link ≥ minLinkQuality. */
export function lqOk(q: LinkQuality, now: number, linkTimeoutMs: number, minLinkQuality: number): boolean {
  return (
    timeAwareRq(q, now, linkTimeoutMs) >= minLinkQuality &&
    timeAwareTq(q, now, linkTimeoutMs) >= minLinkQuality
  );
}
