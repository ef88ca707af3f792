/**
 * OGM aggregations (docs/protocol.md §4.9 "Aggregations"): the sender side (every originator's current
 * OGM in exactly one numbered aggregation) and the receiver side (per neighbour the announced
 * window and a 256-entry map of received aggregation sqns).
 */

const SQN_MASK = 0xffff;
/** At most 256 aggregations in the window (§4.9). */
export const AGG_WINDOW_MAX = 256;
/** Message bytes an aggregation may hold, and the size that triggers an immediate flush (§4.9). */
export const AGG_BYTES_MAX = 580;
export const AGG_BYTES_FLUSH = 532;

/** Receiver state for one neighbour. */
export interface AggRxWindow {
  /** Newest announced aggregation sqn, or -1 before the first OGM_AGG_SQN_ADV. */
  max: number;
  size: number;
  /** Received flags indexed by sqn mod 256. */
  got: Uint8Array;
}

export function newAggRxWindow(): AggRxWindow {
  return { max: -1, size: 0, got: new Uint8Array(AGG_WINDOW_MAX) };
}

/** Applies OGM_AGG_SQN_ADV(max, size) (§4.9). Returns false when ignored as old. */
export function onAggSqnAdv(w: AggRxWindow, max: number, size: number): boolean {
  if (w.max >= 0) {
    const behind = (w.max - max) & SQN_MASK;
    if (behind > 0 && behind < AGG_WINDOW_MAX) return false;
  }
  const newSize = Math.min(size, AGG_WINDOW_MAX);
  if (max !== w.max) {
    const ahead = w.max < 0 ? AGG_WINDOW_MAX : (max - w.max) & SQN_MASK;
    if (ahead >= newSize || ahead >= AGG_WINDOW_MAX) w.got.fill(0);
    else for (let k = 1; k <= ahead; k++) w.got[(w.max + k) & 255] = 0;
    w.max = max;
  }
  w.size = newSize;
  return true;
}

/** True (and marks it) when aggregation `agg` is inside the window and not yet received (§4.9). */
export function acceptAggregation(w: AggRxWindow, agg: number): boolean {
  if (w.max < 0) return false;
  if (((w.max - agg) & SQN_MASK) >= w.size) return false;
  if (w.got[agg & 255]) return false;
  w.got[agg & 255] = 1;
  return true;
}

/** Unreceived aggregation sqns in (max − size, max], for OGM_REQ (§4.9). */
export function missingAggregations(w: AggRxWindow): number[] {
  const out: number[] = [];
  if (w.max < 0) return out;
  for (let k = 0; k < w.size; k++) {
    const s = (w.max - k) & SQN_MASK;
    if (!w.got[s & 255]) out.push(s);
  }
  return out;
}

/** One OGM as the sender keeps it (§4.9 OGM_ADV message). */
export interface OgmEntry {
  /** Originator key (hex node id). */
  node: string;
  /** Encoded size on the wire (18 + 3·history entries). */
  bytes: number;
}

/** Sender state: numbered aggregations holding each originator's current OGM. */
export interface AggTx<T extends OgmEntry> {
  /** Newest aggregation sqn (first = 1). */
  newest: number;
  newestFlushed: boolean;
  aggs: Map<number, Map<string, T>>;
  bytes: Map<number, number>;
  where: Map<string, number>;
}

export function newAggTx<T extends OgmEntry>(): AggTx<T> {
  return {
    newest: 1,
    newestFlushed: false,
    aggs: new Map([[1, new Map()]]),
    bytes: new Map([[1, 0]]),
    where: new Map(),
  };
}

function openNext<T extends OgmEntry>(a: AggTx<T>): void {
  a.newest = (a.newest + 1) & SQN_MASK || 1;
  a.newestFlushed = false;
  a.aggs.set(a.newest, new Map());
  a.bytes.set(a.newest, 0);
  // opening a 257th drops the OGMs still in the oldest (§4.9)
  const oldest = (a.newest - AGG_WINDOW_MAX) & SQN_MASK;
  const gone = a.aggs.get(oldest);
  if (gone) {
    for (const k of gone.keys()) a.where.delete(k);
    a.aggs.delete(oldest);
    a.bytes.delete(oldest);
  }
}

/** Removes an originator's OGM from its aggregation (e.g. the originator was dropped). */
export function removeOgm<T extends OgmEntry>(a: AggTx<T>, node: string): void {
  const at = a.where.get(node);
  if (at === undefined) return;
  const agg = a.aggs.get(at);
  const old = agg?.get(node);
  if (agg && old) {
    agg.delete(node);
    a.bytes.set(at, (a.bytes.get(at) ?? 0) - old.bytes);
  }
  a.where.delete(node);
  trimOld(a);
}

function trimOld<T extends OgmEntry>(a: AggTx<T>): void {
  for (const [sqn, agg] of a.aggs) {
    if (sqn === a.newest || agg.size > 0) break;
    a.aggs.delete(sqn);
    a.bytes.delete(sqn);
  }
}

/**
 * (Re)schedules an originator's OGM (§4.9): updated in place in the newest unflushed aggregation if
 * it fits, else moved to the newest unflushed one. Returns true when the aggregation is now full
 * enough to be flushed at once.
 */
export function scheduleOgm<T extends OgmEntry>(a: AggTx<T>, ogm: T): boolean {
  if (a.newestFlushed) openNext(a);
  const at = a.where.get(ogm.node);
  if (at === a.newest) {
    const agg = a.aggs.get(at)!;
    const old = agg.get(ogm.node)!;
    const nb = (a.bytes.get(at) ?? 0) - old.bytes + ogm.bytes;
    if (nb <= AGG_BYTES_MAX) {
      agg.set(ogm.node, ogm);
      a.bytes.set(at, nb);
      return nb > AGG_BYTES_FLUSH;
    }
  }
  removeOgm(a, ogm.node);
  if ((a.bytes.get(a.newest) ?? 0) + ogm.bytes > AGG_BYTES_MAX) {
    a.newestFlushed = true;
    openNext(a);
  }
  a.aggs.get(a.newest)!.set(ogm.node, ogm);
  a.bytes.set(a.newest, (a.bytes.get(a.newest) ?? 0) + ogm.bytes);
  a.where.set(ogm.node, a.newest);
  return (a.bytes.get(a.newest) ?? 0) > AGG_BYTES_FLUSH;
}

/** Window size: from the oldest aggregation still holding an OGM up to the newest (§4.9). */
export function aggWindow<T extends OgmEntry>(a: AggTx<T>): number {
  trimOld(a);
  for (const [sqn, agg] of a.aggs) {
    if (agg.size > 0 || sqn === a.newest) return (((a.newest - sqn) & SQN_MASK) + 1) & 0xffff;
  }
  return 1;
}

/** Whether the newest aggregation holds OGMs not sent yet. */
export function hasPendingOgms<T extends OgmEntry>(a: AggTx<T>): boolean {
  return !a.newestFlushed && (a.aggs.get(a.newest)?.size ?? 0) > 0;
}

/** The newest aggregation's sqn and OGMs if it holds any; marks it flushed. */
export function flushNewest<T extends OgmEntry>(a: AggTx<T>): { sqn: number; ogms: T[] } | undefined {
  if (a.newestFlushed) return undefined;
  const agg = a.aggs.get(a.newest)!;
  if (agg.size === 0) return undefined;
  a.newestFlushed = true;
  return { sqn: a.newest, ogms: [...agg.values()] };
}

/** The current content of aggregation `sqn` for an OGM_REQ answer, undefined if outside the window. */
export function aggregationContent<T extends OgmEntry>(a: AggTx<T>, sqn: number): T[] | undefined {
  if (((a.newest - sqn) & SQN_MASK) >= aggWindow(a)) return undefined;
  if (sqn === a.newest && !a.newestFlushed) return undefined;
  return [...(a.aggs.get(sqn)?.values() ?? [])];
}
