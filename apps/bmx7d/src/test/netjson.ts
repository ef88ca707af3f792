/**
 * Checks a NetJSON NetworkGraph: against the schema written from the specification's text
 * (netjson-network-graph.schema.json, beside this file, with its provenance), then what the schema
 * cannot say: node ids are unique, every link joins two of the graph's nodes, costs are finite and
 * not negative.
 */
import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';

const SCHEMA = JSON.parse(
  readFileSync(new URL('./netjson-network-graph.schema.json', import.meta.url), 'utf8'),
) as object;

const validate = new Ajv({ allErrors: true, strict: true }).compile(SCHEMA);

/** Why `value` is no valid NetworkGraph; empty when it is one. */
export function networkGraphErrors(value: unknown): string[] {
  if (!validate(value))
    return (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? 'invalid'}`);
  const g = value as {
    nodes: { id: string }[];
    links: { source: string; target: string; cost: number }[];
  };
  const out: string[] = [];
  const ids = new Set<string>();
  for (const n of g.nodes) {
    if (ids.has(n.id)) out.push(`node ${n.id} appears twice`);
    ids.add(n.id);
  }
  g.links.forEach((l, i) => {
    if (!ids.has(l.source)) out.push(`/links/${i} source ${l.source} is no node`);
    if (!ids.has(l.target)) out.push(`/links/${i} target ${l.target} is no node`);
    if (!Number.isFinite(l.cost) || l.cost < 0) out.push(`/links/${i} cost ${l.cost}`);
  });
  return out;
}
