/**
 * The reference's key credit matrix (docs/protocol.md §4.11): five columns (Listed, Tracked, Certified,
 * Promoted, Neighbor) by four rows (qualifying, friend, recommended, alien). Every key sits in one
 * section [row][column]; a set [row][column] holds every key of that column or a higher one and
 * that row or a lower one, and each set has a limit (maxNodes) and a preference.
 *
 * Pure functions: the effective limits and preferences after the reference's inheritance rules
 * (`setCredits` overrides applied), the room check for a key entering Listed or Tracked, and the
 * section to take a key from when a set is over its limit. The engine counts its keys and acts.
 */

export const CREDIT_COLUMNS = ['Listed', 'Tracked', 'Certified', 'Promoted', 'Neighbor'] as const;
export const CREDIT_ROWS = ['qualifying', 'friend', 'recommended', 'alien'] as const;
/** The set names the reference prints per row (its `credits` table's `set` column). */
export const CREDIT_SETS = ['Listed', 'Graded', 'Stranger', 'Alien'] as const;
export const COLUMN_LETTERS = 'ltcpn';
export const ROW_LETTERS = 'QFRA';
export const COLUMNS = CREDIT_COLUMNS.length;
export const ROWS = CREDIT_ROWS.length;

/** A section's acronym: column letter then row letter (lQ, tA, nF …). */
export function creditAcronym(row: number, column: number): string {
  return `${COLUMN_LETTERS[column]}${ROW_LETTERS[row]}`;
}

/** One `setCredits` override: the set's limit and preference. */
export interface CreditSetting {
  /** 1–100000 keys. */
  maxNodes?: number;
  /** 0–9999. */
  preference?: number;
}

/** `setCredits` overrides by acronym (e.g. `{ nA: { maxNodes: 40 } }`). */
export type CreditSettings = Readonly<Record<string, CreditSetting>>;

/** Effective set limits and preferences by row, then column. */
export interface CreditMatrix {
  readonly max: readonly (readonly number[])[];
  readonly pref: readonly (readonly number[])[];
}

const INT16_MAX = 0x7fff;
/** The reference's defaults (key.c keyMatrix), by row then column; 0 means "inherit". */
const DEFAULT_MAX = [
  [10000, 1100, 0, 1000, 100],
  [0, 0, 0, 0, 50],
  [0, 0, 0, 0, 0],
  [0, 0, 0, 0, 25],
];
const DEFAULT_PREF = [
  [4000, 4001, 4002, 4003, 9999],
  [3000, 3001, 3002, 3003, 7000],
  [2000, 2001, 2002, 2003, 6000],
  [0, 1001, 1002, 1003, 5000],
];

/** Row and column of an acronym, or undefined for anything else. */
export function parseCreditAcronym(acro: string): { row: number; column: number } | undefined {
  if (acro.length !== 2) return undefined;
  const column = COLUMN_LETTERS.indexOf(acro[0]!);
  const row = ROW_LETTERS.indexOf(acro[1]!);
  return column < 0 || row < 0 ? undefined : { row, column };
}

/**
 * The effective matrix (key.c keyNode_initMatrix): a set's limit is at most its left and upper
 * neighbours' (so nQ = 100 bounds every neighbour set), its preference above its left neighbour's
 * and below its upper neighbour's. Throws RangeError for an unknown acronym or a value out of range.
 */
export function creditMatrix(settings: CreditSettings = {}): CreditMatrix {
  const confMax = DEFAULT_MAX.map((r) => r.map(() => 0));
  const confPref = DEFAULT_PREF.map((r) => r.map(() => -1));
  for (const [acro, s] of Object.entries(settings)) {
    const at = parseCreditAcronym(acro);
    if (!at) throw new RangeError(`setCredits: unknown section "${acro}" (lQ … nA)`);
    if (s.maxNodes !== undefined) {
      if (!Number.isInteger(s.maxNodes) || s.maxNodes < 1 || s.maxNodes > 100000)
        throw new RangeError(`setCredits ${acro}: maxNodes ${s.maxNodes} is not 1..100000`);
      confMax[at.row]![at.column] = s.maxNodes;
    }
    if (s.preference !== undefined) {
      if (!Number.isInteger(s.preference) || s.preference < 0 || s.preference > 9999)
        throw new RangeError(`setCredits ${acro}: preference ${s.preference} is not 0..9999`);
      confPref[at.row]![at.column] = s.preference;
    }
  }
  const max = DEFAULT_MAX.map((r) => r.map(() => 0));
  const pref = DEFAULT_PREF.map((r) => r.map(() => 0));
  for (let c = 0; c < COLUMNS; c++) {
    for (let r = 0; r < ROWS; r++) {
      let m = confMax[r]![c]! || DEFAULT_MAX[r]![c]! || INT16_MAX;
      if (c > 0) m = Math.min(m, max[r]![c - 1]!);
      if (r > 0) m = Math.min(m, max[r - 1]![c]!);
      max[r]![c] = m;
      let p = confPref[r]![c]! >= 0 ? confPref[r]![c]! : DEFAULT_PREF[r]![c]!;
      if (c > 0) p = Math.max(p, pref[r]![c - 1]! + 1);
      if (r > 0 && pref[r - 1]![c]! > 0) p = Math.min(p, pref[r - 1]![c]! - 1);
      pref[r]![c] = p;
    }
  }
  return { max, pref };
}

/** Keys per section, by row then column. */
export type SectionCounts = number[][];

export function emptySections(): SectionCounts {
  return Array.from({ length: ROWS }, () => new Array<number>(COLUMNS).fill(0));
}

/** Keys in the set [row][column]: every section at that column or right of it, that row or below. */
export function setCount(sec: SectionCounts, row: number, column: number): number {
  let n = 0;
  for (let r = row; r < ROWS; r++) for (let c = column; c < COLUMNS; c++) n += sec[r]![c]!;
  return n;
}

/** keyNode_compoundsLessPrefSecItem: a lower-preference section at or right of `at` holds keys of its own. */
function lessPreferredOccupied(
  m: CreditMatrix,
  sec: SectionCounts,
  row: number,
  column: number,
  prefBase: number,
): boolean {
  for (let c = column; c < COLUMNS; c++) {
    if (m.pref[row]![c]! >= prefBase) return false;
    const right = c + 1 < COLUMNS ? setCount(sec, row, c + 1) : 0;
    if (setCount(sec, row, c) > right) return true;
  }
  return false;
}

/** keyNode_hasFreeSecItem: the set and every set above and left of it have room (sets the applicant is in already excepted). */
function hasFree(
  m: CreditMatrix,
  sec: SectionCounts,
  row: number,
  column: number,
  applicant: { row: number; column: number } | undefined,
): boolean {
  if (row < 0 || column < 0) return true;
  if (applicant && applicant.row >= row && applicant.column >= column) return true;
  return (
    setCount(sec, row, column) < m.max[row]![column]! &&
    hasFree(m, sec, row - 1, column, applicant) &&
    hasFree(m, sec, row, column - 1, applicant)
  );
}

/**
 * May a key of `row`, now in section `applicant` (undefined for a new key), enter `column`
 * (Listed or Tracked)? Yes when the target set has room, or when a lower row of that column holds
 * keys of lower preference that the limit check will then displace (kColCond_listed/tracked).
 */
export function hasRoom(
  m: CreditMatrix,
  sec: SectionCounts,
  column: number,
  row: number,
  applicant?: { row: number; column: number },
): boolean {
  if (row + 1 < ROWS && lessPreferredOccupied(m, sec, row + 1, column, m.pref[row]![column]!)) return true;
  return hasFree(m, sec, row, column, applicant);
}

/**
 * The section to take a key from when the set [row][column] is over its limit: the occupied
 * section of the set with the lowest preference, the last one in row-then-column order among equals
 * (keySec_getLeastWithinSetWithNodes). Undefined when the set is empty.
 */
export function leastSection(
  m: CreditMatrix,
  sec: SectionCounts,
  row: number,
  column: number,
): { row: number; column: number } | undefined {
  let least: { row: number; column: number } | undefined;
  let leastPref = Number.POSITIVE_INFINITY;
  for (let r = row; r < ROWS; r++) {
    for (let c = column; c < COLUMNS; c++) {
      if (sec[r]![c]! > 0 && m.pref[r]![c]! <= leastPref) {
        least = { row: r, column: c };
        leastPref = m.pref[r]![c]!;
      }
    }
  }
  return least;
}
