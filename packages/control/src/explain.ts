/**
 * The `explain` request's result for `tunnels` (docs/protocol.md §5.5), as the tun plugin's
 * explanation gives it (packages/tun explain.ts), and its text (`bmx7ctl explain tunnels`). Pure.
 */
import { formatUmetric } from './table.js';

export type CryptLevelValue = 0 | 1 | 2;

export interface ExplainCryptTerms {
  readonly setting: CryptLevelValue;
  readonly offer: CryptLevelValue;
  readonly peer: boolean;
  readonly noPeer?: 'no-wireguard-here' | 'no-peer';
  readonly decision: 'plain' | 'encrypted' | 'none';
  readonly pq?: { readonly kem: boolean };
  readonly admitted: boolean;
}

export interface ExplainTerms {
  readonly pathMetric: number;
  readonly hops: number;
  readonly bandwidth: number;
  readonly minBandwidth: number;
  readonly bandwidthCounted: number;
  readonly e2eMetric: number;
  readonly rating: number;
  readonly hysteresis: number;
  readonly inUse: boolean;
  readonly tunMetric: number;
  readonly pref: number;
  readonly ipMetric: number;
}

export interface ExplainCandidateRef {
  readonly search: string;
  readonly gatewayId: string;
  readonly gatewayName: string;
  readonly network: string;
  readonly route: string;
}

export interface ExplainCandidate {
  readonly gateway: { readonly id: string; readonly shortId: string; readonly name: string };
  readonly network: string;
  readonly tun6Id: number;
  readonly verdict: 'selected' | 'beaten' | 'excluded';
  readonly route?: string;
  readonly rank?: number;
  readonly terms?: ExplainTerms;
  readonly crypt?: ExplainCryptTerms;
  readonly tunnel?: { readonly dev: string; readonly crypt: 'plain' | 'encrypted' };
  readonly rule: { readonly code: string; readonly text: string; readonly versus?: ExplainCandidateRef };
}

export interface ExplainSearch {
  readonly search: string;
  readonly network: string;
  readonly family: 4 | 6;
  readonly settings: {
    readonly pref: number;
    readonly table: number;
    readonly ipMetric: number;
    readonly rating: number;
    readonly hysteresis: number;
    readonly minBandwidth: number;
    readonly minPrefixLen: number;
    readonly maxPrefixLen: number;
    readonly proto: number;
    readonly gwName?: string;
    readonly gwId?: string;
    readonly crypt?: CryptLevelValue;
    readonly pq?: boolean;
  };
  readonly winners: readonly ExplainCandidateRef[];
  readonly candidates: readonly ExplainCandidate[];
}

/** What `explain` answers for `subject: 'tunnels'`. */
export interface ExplainTunnelsResult {
  readonly subject: 'tunnels';
  readonly searches: readonly ExplainSearch[];
}

/** What `explain` can explain. */
export const EXPLAIN_SUBJECTS = ['tunnels'] as const;
export type ExplainSubject = (typeof EXPLAIN_SUBJECTS)[number];

/** Whether a code point is a control character (C0, DEL, C1) or a line or paragraph separator. */
const isControl = (c: number): boolean =>
  c < 0x20 || (c >= 0x7f && c <= 0x9f) || c === 0x2028 || c === 0x2029;

/** Text from other nodes (host names) with control characters as `?`: nothing can move the terminal. */
export function printable(text: string): string {
  let out = '';
  for (const ch of text) out += isControl(ch.codePointAt(0) as number) ? '?' : ch;
  return out;
}

const m = formatUmetric;

function cryptLine(c: ExplainCryptTerms): string {
  const pq = c.pq ? `, /pq needs a KEM key: ${c.pq.kem ? 'announced' : 'none'}` : '';
  return `crypt ${c.decision} (setting ${c.setting}, offer ${c.offer}, ${c.peer ? 'peer' : (c.noPeer ?? 'no peer')}${pq})`;
}

function termsLine(t: ExplainTerms, crypt: ExplainCryptTerms | undefined): string {
  const bw =
    t.bandwidth < t.minBandwidth
      ? `bandwidth ${m(t.bandwidth)} (below minBandwidth ${m(t.minBandwidth)}: counts)`
      : `bandwidth ${m(t.bandwidth)} (≥ minBandwidth ${m(t.minBandwidth)})`;
  const hyst = t.inUse ? `, in use +${t.hysteresis}%` : '';
  return [
    `path ${m(t.pathMetric)} (${t.hops} hop${t.hops === 1 ? '' : 's'})`,
    bw,
    `e2e ${m(t.e2eMetric)}`,
    `rating ${t.rating}%${hyst}`,
    `tunnel metric ${m(t.tunMetric)}`,
    ...(crypt ? [cryptLine(crypt)] : []),
  ].join(', ');
}

function searchLine(s: ExplainSearch): string {
  const head = `tunOut=${printable(s.search)} /network=${s.network}`;
  const selected = s.candidates.filter((c) => c.verdict === 'selected');
  if (selected.length > 0) {
    const each = selected.map((c) => {
      const where = c.tunnel ? `${c.tunnel.dev} (${c.tunnel.crypt})` : 'no tunnel yet';
      return `${printable(c.gateway.name || c.gateway.shortId)} [${c.gateway.shortId}] ${c.route} in ${where}`;
    });
    return `${head}: ${each.join(', ')}`;
  }
  const n = s.candidates.length;
  if (n === 0) return `${head}: no gateway (no network of this family announced)`;
  const beaten = s.candidates.filter((c) => c.verdict === 'beaten').length;
  return `${head}: no gateway (${beaten} candidate${beaten === 1 ? '' : 's'} beaten by other searches, ${n - beaten} network${n - beaten === 1 ? '' : 's'} excluded)`;
}

/** `bmx7ctl explain tunnels`: per search its result, its settings, then each candidate and why. */
export function renderExplainTunnels(r: ExplainTunnelsResult): string {
  if (r.searches.length === 0) return 'no tunOut configured: nothing to explain\n';
  const out: string[] = [];
  for (const s of r.searches) {
    const st = s.settings;
    const extra = [
      ...(st.gwName === undefined ? [] : [`gwName ${printable(st.gwName)}`]),
      ...(st.gwId === undefined ? [] : [`gwId ${st.gwId.slice(0, 8).toUpperCase()}…`]),
      ...(st.crypt === undefined ? [] : [`crypt ${st.crypt}`]),
      ...(st.pq ? ['pq'] : []),
    ];
    out.push(searchLine(s));
    out.push(
      `  pref ${st.pref} table ${st.table} ipMetric ${st.ipMetric} rating ${st.rating}% hysteresis ${st.hysteresis}% minBandwidth ${m(st.minBandwidth)}${extra.length ? ` ${extra.join(' ')}` : ''}`,
    );
    for (const c of s.candidates) {
      const name = printable(c.gateway.name || '---');
      const pos = c.rank === undefined ? '-' : String(c.rank);
      const route = c.route !== undefined && c.route !== c.network ? ` → ${c.route}` : '';
      out.push(
        `  ${pos.padStart(2)} ${c.verdict.padEnd(8)} ${name} [${c.gateway.shortId}] ${c.network}${route}`,
      );
      if (c.terms) out.push(`       ${termsLine(c.terms, c.crypt)}`);
      out.push(`       ${printable(c.rule.text)}`);
    }
    out.push('');
  }
  return `${out.join('\n').replace(/\n+$/, '')}\n`;
}
