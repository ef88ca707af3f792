/**
 * Table rendering as the reference prints `show=<table>` (docs/protocol.md §5.3; reference bmx.c
 * fields_dbg_table): a title line `NAME:`, a header of column names, then one line per row; each
 * column is left-aligned and padded to its widest cell (header included) and followed by one
 * space, except that a data row has no space after the table's *last defined* column (so rows end
 * with a space when that column is hidden at the chosen relevance, and headers always do).
 * Missing values print as `---`. The daemon fills rows; this module owns the formats.
 */
import type { Relevance } from './options.js';

/** How a column's numbers are printed. Strings are always printed as they are. */
export type ColumnKind =
  /** decimal integer */
  | 'int'
  /** UMETRIC: bit/s or metric, `257G`, `999M`, `92274K`; below 65 `-1`, 65 `0` */
  | 'umetric'
  /** two decimals (`%.2f`) */
  | 'float'
  /** free text (ids, names, addresses, composite cells such as `699+757`) */
  | 'text';

export interface ColumnDef {
  readonly name: string;
  /** 2 high (default view), 1 medium (`/r=1`), 0 low (`/r=0` only). */
  readonly relevance: Relevance;
  readonly kind?: ColumnKind;
}

export interface TableDef {
  /** The name used in `show=<name>`. */
  readonly name: string;
  /** The title line without its colon, e.g. `ORIGINATORS`. */
  readonly title: string;
  readonly columns: readonly ColumnDef[];
}

/** A cell: null or undefined print as `---`. */
export type Cell = string | number | null | undefined;
export type Row = Readonly<Record<string, Cell>>;

/** What the reference prints for a missing value. */
export const DBG_NIL = '---';

/** The metric below which a path is not routable (UMETRIC_MIN__NOT_ROUTABLE = (1 << 6) + 1). */
export const UMETRIC_MIN_NOT_ROUTABLE = 65;

/** The reference's umetric_to_human. */
export function formatUmetric(value: number): string {
  if (!Number.isFinite(value)) return DBG_NIL;
  const v = Math.floor(value);
  if (v < UMETRIC_MIN_NOT_ROUTABLE) return '-1';
  if (v === UMETRIC_MIN_NOT_ROUTABLE) return '0';
  if (v < 100_000) return String(v);
  if (v < 100_000_000) return `${Math.floor(v / 1_000)}K`;
  if (v < 100_000_000_000) return `${Math.floor(v / 1_000_000)}M`;
  return `${Math.floor(v / 1_000_000_000)}G`;
}

/** The reference's uptime format D:HH:MM:SS (`0:00:01:14`). */
export function formatUptime(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const two = (n: number): string => String(n).padStart(2, '0');
  return `${Math.floor(s / 86400)}:${two(Math.floor((s % 86400) / 3600))}:${two(Math.floor((s % 3600) / 60))}:${two(s % 60)}`;
}

/** The text of one cell. */
export function formatCell(column: ColumnDef, value: Cell): string {
  if (value === null || value === undefined) return DBG_NIL;
  if (typeof value === 'string') return value;
  switch (column.kind ?? 'int') {
    case 'umetric':
      return formatUmetric(value);
    case 'float':
      return value.toFixed(2);
    default:
      return Number.isFinite(value) ? String(value) : DBG_NIL;
  }
}

/** The columns shown at a relevance (the reference shows a column when its relevance >= the asked one). */
export function visibleColumns(def: TableDef, relevance: Relevance = 2): ColumnDef[] {
  return def.columns.filter((c) => c.relevance >= relevance);
}

export interface RenderOptions {
  /** 2 (default) high only, 1 adds medium, 0 all. */
  readonly relevance?: Relevance;
  /** Print the `TITLE:` line (default true). */
  readonly title?: boolean;
}

/**
 * Renders a table as the reference does, ending with a newline. A table without rows prints
 * nothing at all, not even its title (the reference prints a table only when it has data).
 */
export function renderTable(def: TableDef, rows: readonly Row[], options: RenderOptions = {}): string {
  if (rows.length === 0) return '';
  const cols = visibleColumns(def, options.relevance ?? 2);
  const last = def.columns[def.columns.length - 1];
  const cells = rows.map((row) => cols.map((c) => stripControl(formatCell(c, row[c.name]))));
  const widths = cols.map((c, j) =>
    cells.reduce((w, r) => Math.max(w, (r[j] as string).length), c.name.length),
  );
  let out = options.title === false ? '' : `${def.title}:\n`;
  out += `${cols.map((c, j) => `${c.name.padEnd(widths[j] as number)} `).join('')}\n`;
  for (const r of cells) {
    out += cols
      .map((c, j) => (r[j] as string).padEnd(widths[j] as number) + (c === last ? '' : ' '))
      .join('');
    out += '\n';
  }
  return out;
}

/** Rows for `--json`: objects keyed by column name with the raw values (null where missing). */
export function tableToJson(
  def: TableDef,
  rows: readonly Row[],
  relevance: Relevance = 2,
): Record<string, string | number | null>[] {
  const cols = visibleColumns(def, relevance);
  return rows.map((row) => {
    const o: Record<string, string | number | null> = {};
    for (const c of cols) {
      const v = row[c.name];
      o[c.name] = v === undefined || (typeof v === 'number' && !Number.isFinite(v)) ? null : v;
    }
    return o;
  });
}

/** Cells come from the network (hostnames, descriptions): never let them break the layout. */
function stripControl(s: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: that is the point
  return s.replace(/[\u0000-\u001f\u007f]/g, '?');
}

/** One configured option for `parameters`: the value and the default, children indented below. */
export interface ParameterEntry {
  readonly name: string;
  readonly value: string;
  readonly default?: string | number;
  readonly children?: readonly {
    readonly name: string;
    readonly value: string;
    readonly default?: string | number;
  }[];
}

/** The reference's `parameters` output: ` %-22s %-20s (%s)` and `    /%-18s %-20s (%s)` for children. */
export function renderParameters(entries: readonly ParameterEntry[]): string {
  let out = 'PARAMETERS:\n';
  for (const e of entries) {
    out += ` ${e.name.padEnd(22)} ${e.value.padEnd(20)} (${String(e.default ?? '')}) \n`;
    for (const c of e.children ?? [])
      out += `    /${c.name.padEnd(18)} ${c.value.padEnd(20)} (${String(c.default ?? '')}) \n`;
  }
  return out;
}
