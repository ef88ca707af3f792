/**
 * The `topology` request's result: a NetJSON NetworkGraph (netjson.org, "NetworkGraph") of what a
 * node knows, and the same graph in Graphviz's DOT language (`bmx7ctl topology --dot`). Pure.
 *
 * bmx7d's conventions (docs/protocol.md §5.5): node ids are BMX7 node ids (56 upper-case hex
 * digits, as `show originators` prints them), labels are host names; a link's `cost` is 10^9
 * divided by its metric in bit/s (lower is better, as NetJSON wants; a 1000M link costs 1) and
 * `cost_text` is the metric as the reference prints it; `properties.type` says where it comes from:
 * `link` (the node's own link to a neighbour), `route` (the node's path to an originator it reaches
 * through another neighbour, `properties.via` naming that next hop) or `announced` (a link another
 * node announces in its TOPOLOGY TLV).
 */
import { printable } from './explain.js';

export interface NetJsonNode {
  readonly id: string;
  readonly label?: string;
  readonly local_addresses?: readonly string[];
  readonly properties?: Readonly<Record<string, unknown>>;
}

export interface NetJsonLink {
  readonly source: string;
  readonly target: string;
  readonly cost: number;
  readonly cost_text?: string;
  readonly properties?: Readonly<Record<string, unknown>>;
}

export interface NetworkGraph {
  readonly type: 'NetworkGraph';
  readonly protocol: string;
  readonly version: string;
  readonly revision?: string;
  readonly metric: string;
  readonly router_id?: string;
  readonly topology_id?: string;
  readonly label?: string;
  readonly nodes: readonly NetJsonNode[];
  readonly links: readonly NetJsonLink[];
}

/** Where a link of bmx7d's graph comes from (`properties.type`). */
export type LinkKind = 'link' | 'route' | 'announced';

/** A link's cost from a metric in bit/s: 10^9 / metric (no path: the largest finite cost). */
export function costOf(metricBps: number): number {
  if (!(metricBps > 0)) return Number.MAX_SAFE_INTEGER;
  return 1e9 / metricBps;
}

/**
 * Text for inside a DOT quoted string: `"` and `\` escaped (so a label shows them as they are, and
 * no escape sequence of Graphviz's labels applies), control characters replaced by `?`. Host names
 * come from other nodes' descriptions: nothing in them can end the string or the graph.
 */
export function dotEscape(text: string): string {
  return printable(text).replaceAll('\\', '\\\\').replaceAll('"', '\\"');
}

/** Text as a DOT quoted string (`dotEscape` inside double quotes). */
export const dotString = (text: string): string => `"${dotEscape(text)}"`;

const EDGE_STYLE: Record<LinkKind, string> = { link: 'solid', route: 'dashed', announced: 'dotted' };

/**
 * The graph in DOT: a `digraph` with one node statement per node (label: host name and short id)
 * and one edge statement per link (label: `cost_text`; own links solid, routes dashed, announced
 * links dotted).
 */
export function netjsonToDot(g: NetworkGraph): string {
  const out: string[] = [];
  const title = `${g.protocol} ${g.label ?? ''} ${g.router_id ? g.router_id.slice(0, 8) : ''}`
    .replace(/\s+/g, ' ')
    .trim();
  out.push(`digraph ${dotString(g.protocol)} {`);
  out.push(`  graph [label=${dotString(title)}, labelloc="t"];`);
  out.push('  node [shape="box"];');
  for (const n of g.nodes) {
    const short = n.id.slice(0, 8);
    // two lines: the host name and the short id (DOT's \n between them)
    const label = n.label ? `"${dotEscape(n.label)}\\n${dotEscape(short)}"` : dotString(short);
    const self = n.id === g.router_id ? ', style="bold"' : '';
    out.push(`  ${dotString(n.id)} [label=${label}${self}];`);
  }
  for (const l of g.links) {
    const kind = (l.properties?.type as LinkKind | undefined) ?? 'link';
    const attrs = [
      `label=${dotString(l.cost_text ?? String(l.cost))}`,
      `style="${EDGE_STYLE[kind] ?? 'solid'}"`,
    ];
    out.push(`  ${dotString(l.source)} -> ${dotString(l.target)} [${attrs.join(', ')}];`);
  }
  out.push('}');
  return `${out.join('\n')}\n`;
}
