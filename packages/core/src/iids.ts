/**
 * IID repositories (docs/protocol.md §4.9 "IIDs"): the own numbering of originators (lowest free ≥ 1,
 * 1 = myself, ≤ 16382) and, per neighbour, its IID → node references with their OGM state.
 */
import type { OgmHop } from '@bmx7/codec';

type HopHistoryEntry = OgmHop;

export const IID_OWN = 1;
export const IID_MAX_OWN = 16382;
/** IIDs above this from a neighbour are ignored (§4.9). */
export const IID_MAX_RX = 10000;
/** A neighbour IID reference lives 72 s after its last refresh (§4.9, §4.12). */
export const IID_REF_TIMEOUT = 72_000;

/** Own IID numbering: lowest free value ≥ 1. */
export class IidRepo {
  readonly #byIid = new Map<number, string>();
  #lowestFree = 1;

  /** Assigns the lowest free IID to `node`. */
  assign(node: string): number {
    let i = this.#lowestFree;
    while (this.#byIid.has(i)) i++;
    if (i > IID_MAX_OWN) return 0;
    this.#byIid.set(i, node);
    this.#lowestFree = i + 1;
    return i;
  }

  free(iid: number): void {
    if (this.#byIid.delete(iid) && iid < this.#lowestFree) this.#lowestFree = iid;
  }

  get(iid: number): string | undefined {
    return this.#byIid.get(iid);
  }

  get size(): number {
    return this.#byIid.size;
  }
}

/** A neighbour's IID reference (§4.9 "Neighbour IID refs"). */
export interface IidRef {
  iid: number;
  /** Node id hex, undefined until an IID_ADV maps it. */
  node: string | undefined;
  descSqn: number;
  /** Best (highest) OGM sqn verified for this ref, 0 = none. */
  sqn: number;
  /** Claimed metric (FM16) at `sqn`. */
  fm16: number;
  /** Hop count (received + 1). */
  hops: number;
  history: HopHistoryEntry[];
  /** The verified chainOgm of `sqn` (shared with the node's other refs of the same sqn). */
  chainOgm: Uint8Array | undefined;
  /** When `sqn` was first delivered by this neighbour. */
  sqnTime: number;
  /** Rule I "best since" sqn (§4.10). */
  bestSince: number | undefined;
  /** Last OGM/IID_ADV naming this IID. */
  refreshed: number;
  /** An OGM waiting for the mapping or description (§4.9 acceptance step 1). */
  pending: { chainOgm: Uint8Array; fm16: number; hops: number; history: HopHistoryEntry[] } | undefined;
  /** IID_REQ/DESC_REQ rate limit (§4.12 descRetry*): sends in the current interval and its start. */
  reqCount: number;
  reqWindowStart: number;
}

/** The empty hop history, shared (histories are replaced, never changed in place). */
export const NO_HISTORY: HopHistoryEntry[] = Object.freeze([]) as unknown as HopHistoryEntry[];

export function newIidRef(iid: number, now: number): IidRef {
  return {
    iid,
    node: undefined,
    descSqn: 0,
    sqn: 0,
    fm16: 0,
    hops: 0,
    history: NO_HISTORY,
    chainOgm: undefined,
    sqnTime: now,
    bestSince: undefined,
    refreshed: now,
    pending: undefined,
    reqCount: 0,
    reqWindowStart: -Infinity,
  };
}

/**
 * The ref starts over with a (new) description of its node: the sqn, metric, hop history, chain
 * value and rule-I mark of the old chain no longer hold (§4.9).
 */
export function restartRef(ref: IidRef, descSqn: number): void {
  ref.descSqn = descSqn;
  ref.sqn = 0;
  ref.fm16 = 0;
  ref.history = NO_HISTORY;
  ref.chainOgm = undefined;
  ref.bestSince = undefined;
}

/**
 * Per-IID request cap (§4.12): at most `iterations` + 1 sends, then a pause until `interval` has
 * passed since the window started. Returns true when a request may be sent now.
 */
export function mayRequest(ref: IidRef, now: number, iterations: number, interval: number): boolean {
  if (now - ref.reqWindowStart >= interval) {
    ref.reqWindowStart = now;
    ref.reqCount = 0;
  }
  if (ref.reqCount > iterations) return false;
  ref.reqCount++;
  return true;
}
