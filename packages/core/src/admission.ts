/**
 * Key admission (docs/protocol.md §4.11): key records, the qualifying credit, the key columns and
 * rows, trust and support levels, and the credit set limits.
 */

import { emptySections, hasRoom, leastSection, type SectionCounts, setCount } from './credits.js';
import { hex } from './hex.js';
import type { IidRef } from './iids.js';
import { nbLqOk, purgeLink } from './neighbours.js';
import { newAggRxWindow } from './ogms.js';
import { dropOrig } from './originators.js';
import { requestPubkey } from './requests.js';
import { type EngineState, KEY_STATE, type KeyRec, MAINTENANCE_MS } from './state.js';
import { indexFacts, releaseDesc } from './store.js';
import { supportLevel } from './trust.js';

const NQUALIFYING_MS = 30_000; // §4.11
export const TRACKED_PROMOTION_MS = 20_000; // §4.11
/** The key record of a node id (`h`: its hex, when the caller has it already). */
export function getKey(s: EngineState, id: Uint8Array, create: boolean, h = hex(id)): KeyRec | undefined {
  let k = s.keys.get(h);
  if (!k && create) {
    k = {
      hex: h,
      id: Uint8Array.from(id),
      state: KEY_STATE.LISTED,
      pubkey: undefined,
      minDescSqn: 0,
      pending: undefined,
      current: undefined,
      qualifyingUntil: 0,
      lastPacket: -Infinity,
      lastVerified: -Infinity,
      lastRef: s.c.clock.now(),
      trackedSince: 0,
      referrer: undefined,
      heardOn: undefined,
      iidRefCount: 0,
      orig: undefined,
      nb: undefined,
      dhmSecret: undefined,
      chain: undefined,
    };
    s.keys.set(h, k);
  }
  return k;
}

/**
 * nQualifying credit (§4.11): a key that sends us a packet qualifies for 30 s, once. It is
 * not renewed while it runs, nor granted to a neighbour: after it, a neighbour stays one by its
 * verified packets and link quality alone (nQ becomes nA, or nF for a friend). Fewer than
 * (100 − neighbours without the credit) / 2 keys hold it at once (the reference's nQ set limit;
 * friends already promoted count the whole room).
 */
export function grantQualifying(s: EngineState, k: KeyRec, now: number): void {
  if (k.qualifyingUntil > now || k.nb) return;
  let holders = 1; // the node itself is in row Q
  for (const x of s.heard) if (x.qualifyingUntil > now) holders++;
  let others = 0;
  for (const x of s.nbs) if (x.qualifyingUntil <= now) others++;
  const friend = k.state >= KEY_STATE.PROMOTED && valued(s, k.hex);
  if (holders >= (s.credits.max[0]![KEY_STATE.NEIGHBOR]! - others) / (friend ? 1 : 2)) return;
  k.qualifyingUntil = now + NQUALIFYING_MS;
}

export function track(s: EngineState, k: KeyRec): void {
  // room in the Tracked sets, or a less preferred key there to displace (kColCond_tracked)
  const now = s.c.clock.now();
  const sec = sections(s, now);
  const row = rowOf(s, k, now);
  if (!hasRoom(s.credits, sec, KEY_STATE.TRACKED, row, { row, column: k.state })) {
    s.cnt.keysNotTracked++;
    return;
  }
  sec[row]![k.state]!--;
  sec[row]![KEY_STATE.TRACKED]!++;
  k.state = KEY_STATE.TRACKED;
  k.trackedSince = s.c.clock.now();
  if (!k.pubkey) requestPubkey(s, k);
}

/** Drops a key to Listed with all its state ("rebooted", metric attack, timeouts). */
export function demoteToListed(s: EngineState, k: KeyRec): void {
  indexFacts(s, k, k.current?.facts, undefined);
  dropNeighbor(s, k);
  dropOrig(s, k);
  releaseDesc(s, k.pending);
  releaseDesc(s, k.current);
  k.pending = undefined;
  k.current = undefined;
  k.pubkey = undefined;
  k.dhmSecret = undefined;
  k.state = KEY_STATE.LISTED;
}

export function makeNeighbor(s: EngineState, k: KeyRec): void {
  if (k.nb) return;
  k.nb = {
    key: k,
    links: new Map(),
    iidRefs: new Map(),
    agg: newAggRxWindow(),
    byNode: new Map(),
    burstSqn: 0,
    lastHelloByDev: new Map(),
    addrByDev: new Map(),
  };
  k.state = KEY_STATE.NEIGHBOR;
  s.nbs.add(k);
}

export function dropNeighbor(s: EngineState, k: KeyRec): void {
  const nb = k.nb;
  if (!nb) return;
  for (const l of [...nb.links.values()]) purgeLink(s, l);
  for (const ref of nb.iidRefs.values()) unref(s, ref);
  nb.iidRefs.clear();
  nb.byNode.clear();
  k.nb = undefined;
  s.nbs.delete(k);
  if (k.state === KEY_STATE.NEIGHBOR) k.state = k.current ? KEY_STATE.PROMOTED : KEY_STATE.CERTIFIED;
}

export function unref(s: EngineState, ref: IidRef): void {
  if (!ref.node) return;
  const k = s.keys.get(ref.node);
  if (k) k.iidRefCount = Math.max(0, k.iidRefCount - 1);
}

export function forgetKey(s: EngineState, k: KeyRec): void {
  demoteToListed(s, k);
  s.keys.delete(k.hex);
  s.heard.delete(k);
  for (const [h, owners] of s.wanted) {
    owners.delete(k.hex);
    if (!owners.size) s.wanted.delete(h);
  }
}

/** A friend or a recommended node: rows F and R, kept though no neighbour refers to it (§4.11). */
export function valued(s: EngineState, h: string): boolean {
  return supportLevel(s, h) >= 2 || s.recommended.has(h);
}

/** The key's row (§4.11): 0 qualifying (and the node itself), 1 friend, 2 recommended, 3 alien. */
export function rowOf(s: EngineState, k: KeyRec, now: number): number {
  if (now < k.qualifyingUntil || k.hex === s.hex) return 0;
  if (supportLevel(s, k.hex) >= 2) return 1;
  return s.recommended.has(k.hex) ? 2 : 3;
}

/** Keys per credit section [row][column]; the node itself counts as nQ. */
export function countSections(s: EngineState, now: number): SectionCounts {
  const sec = emptySections();
  sec[0]![KEY_STATE.NEIGHBOR]!++;
  for (const k of s.keys.values()) sec[rowOf(s, k, now)]![k.state]!++;
  s.sec = sec;
  s.secAt = now;
  return sec;
}

/** The section counts, counted at most once per maintenance second and kept current by #track. */
export function sections(s: EngineState, now: number): SectionCounts {
  return s.sec && now - s.secAt < MAINTENANCE_MS ? s.sec : countSections(s, now);
}

/** A key's preference within its section (prefGet): neighbours of rows F, R, A gain 1 with a usable link; lA gains from the neighbours that reference it. */
export function prefOf(s: EngineState, k: KeyRec, row: number, now: number): number {
  const m = s.credits;
  const base = m.pref[row]![k.state]!;
  if (k.state === KEY_STATE.NEIGHBOR && row > 0) return base + (k.nb && nbLqOk(s, k.nb) ? 1 : 0);
  if (k.state === KEY_STATE.LISTED && row === 3) {
    let refs = 0;
    for (const x of s.nbs) if (x.nb?.byNode.has(k.hex)) refs += prefOf(s, x, rowOf(s, x, now), now);
    return Math.min(m.pref[3]![KEY_STATE.TRACKED]! - 1, base + Math.floor(refs / 1000));
  }
  return base;
}

/**
 * Set limits (§4.11, key.c keyNodes_fixLimits): while a set holds more keys than its limit, a key
 * of its least preferred occupied section is lowered one column: a random one where every key
 * has the section's preference, else the one with the lowest. A Listed key lowered is forgotten.
 */
export function fixLimits(s: EngineState, now: number): void {
  const m = s.credits;
  const sec = countSections(s, now);
  for (let c = KEY_STATE.NEIGHBOR; c >= KEY_STATE.LISTED; c--) {
    for (let r = 0; r < 4; r++) {
      while (setCount(sec, r, c) > m.max[r]![c]!) {
        const at = leastSection(m, sec, r, c);
        if (!at) break;
        const k = leastKey(s, at.row, at.column, now);
        if (!k) break; // only the node itself is left there
        sec[at.row]![at.column]!--;
        lowerOneColumn(s, k);
        s.cnt.keysLimited++;
        if (s.keys.has(k.hex)) sec[rowOf(s, k, now)]![k.state]!++;
      }
    }
  }
}

export function leastKey(s: EngineState, row: number, column: number, now: number): KeyRec | undefined {
  const inSec: KeyRec[] = [];
  for (const k of s.keys.values()) if (k.state === column && rowOf(s, k, now) === row) inSec.push(k);
  if (!inSec.length) return undefined;
  const base = s.credits.pref[row]![column]!;
  const start = Math.floor(s.c.random.float() * inSec.length);
  let least: KeyRec | undefined;
  let leastPref = Number.POSITIVE_INFINITY;
  for (let i = 0; i < inSec.length; i++) {
    const k = inSec[(start + i) % inSec.length]!;
    const p = prefOf(s, k, row, now);
    if (p === base) return k;
    if (p < leastPref) {
      least = k;
      leastPref = p;
    }
  }
  return least;
}

/** One column down (keyNode_setState to the left section); from Listed the key is forgotten. */
export function lowerOneColumn(s: EngineState, k: KeyRec): void {
  switch (k.state) {
    case KEY_STATE.NEIGHBOR:
      dropNeighbor(s, k); // to Promoted (Certified without an applied description)
      return;
    case KEY_STATE.PROMOTED:
      dropOrig(s, k);
      return;
    case KEY_STATE.CERTIFIED:
      releaseDesc(s, k.pending);
      k.pending = undefined;
      k.state = KEY_STATE.TRACKED;
      return;
    case KEY_STATE.TRACKED:
      demoteToListed(s, k);
      return;
    default:
      forgetKey(s, k);
  }
}
