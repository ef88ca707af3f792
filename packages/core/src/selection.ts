/**
 * Path acceptance for one originator (docs/protocol.md §4.10 "Path selection", rules A–I). A pure
 * function: the engine feeds it the originator's current path and one neighbour's candidate.
 */
import { UMETRIC_NOT_ROUTABLE } from './metrics.js';

/** The originator's current path state. */
export interface PathState {
  /** Sent (accepted) OGM sqn S; 0 before the first. */
  sqn: number;
  /** Current path metric um (0 before the first OGM, 65 = no path). */
  um: bigint;
  /** Key of the current next-hop link, undefined when there is none. */
  link: string | undefined;
}

export interface PathCandidate {
  /** The sqn s the neighbour's ref holds. */
  sqn: number;
  /** The metric the neighbour claims (already FM16-validated). */
  claimed: bigint;
  /** This node's metric via the neighbour's best link (65 = no path). */
  um: bigint;
  /** Key of the link the candidate uses (undefined = no usable link). */
  link: string | undefined;
  /** Milliseconds since this neighbour first delivered `sqn`. */
  sqnAgeMs: number;
  /** The neighbour ref's "best since" sqn b (rule I), undefined when unset. */
  bestSince: number | undefined;
}

/** The originator's METRIC parameters used by the rules. */
export interface SelectionParams {
  pathMetricMin: bigint;
  pathSqnDiffMax: number;
  pathLateHysteresis100ms: number;
  oldPathMetricHysteresis: number;
  newPathMetricHysteresis: number;
  pathSqnBestHysteresis: number;
}

export type SelectionRule = 'A' | 'B' | 'C' | 'D' | 'E' | 'G' | 'H' | 'I';

export interface SelectionResult {
  /** The rule that accepted the candidate, or undefined when rejected. */
  rule: SelectionRule | undefined;
  /** Re-evaluate after this many ms (only rule C's time is missing). */
  retryInMs: number | undefined;
  /** The neighbour ref's new "best since" value (rule I bookkeeping). */
  bestSince: number | undefined;
  /** True when the evaluation was not applicable at all (older sqn, not better). */
  skipped: boolean;
}

const hyst = (um: bigint, pct: number) => (um * BigInt(100 + pct)) / 100n;

/** Evaluates one candidate against the current path (§4.10 table of rules). */
export function selectPath(cur: PathState, c: PathCandidate, p: SelectionParams): SelectionResult {
  // Only when s ≥ S and (s > S or claimed > um) (§4.10).
  if (c.sqn < cur.sqn || !(c.sqn > cur.sqn || c.claimed > cur.um)) {
    return { rule: undefined, retryInMs: undefined, bestSince: c.bestSince, skipped: true };
  }
  const S = cur.sqn;
  const s = c.sqn;
  const routable = c.um > p.pathMetricMin && c.link !== undefined;
  const sameLink = c.link !== undefined && c.link === cur.link;
  const beats = c.um > cur.um && c.link !== undefined;
  const bestSince = beats ? (c.bestSince ?? s) : undefined;
  const lateMs = p.pathLateHysteresis100ms * 100;
  const out = (rule: SelectionRule | undefined, retryInMs?: number): SelectionResult => ({
    rule,
    retryInMs,
    bestSince,
    skipped: false,
  });

  if (s >= S + p.pathSqnDiffMax + 1) return out('A');
  if (s >= S + 1 && cur.um <= UMETRIC_NOT_ROUTABLE) return out('B');
  if (s >= S + 1 && routable && c.sqnAgeMs >= lateMs) return out('C');
  if (s >= S + 1 && routable && sameLink) return out('D');
  if (beats && cur.um <= UMETRIC_NOT_ROUTABLE) return out('E');
  if (beats && sameLink && c.um > hyst(cur.um, p.oldPathMetricHysteresis)) return out('G');
  if (beats && !sameLink && c.um > hyst(cur.um, p.newPathMetricHysteresis)) return out('H');
  if (beats && bestSince !== undefined && s >= bestSince + p.pathSqnBestHysteresis) return out('I');
  // whole milliseconds, at least one: a fraction of a millisecond left (times are fractional) must
  // not re-evaluate at the same instant over and over
  if (s > S && routable) return out(undefined, Math.max(1, Math.ceil(lateMs - c.sqnAgeMs)));
  return out(undefined);
}
