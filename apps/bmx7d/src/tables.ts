/**
 * The engine's show rows shaped into the reference's tables (docs/protocol.md §5.3): formats the
 * reference uses for cells the engine gives as plain numbers (uptime, nodes), the own node as the
 * first originator, and the host's figures (cpu, mem, the source revision).
 */
import { formatUptime, REFERENCE_TABLES, type Row, type TableResult } from '@bmx7/control';
import { type Engine, UMETRIC_MAX } from '@bmx7/core';
import { UNKNOWN_REVISION } from './revision.js';

/** The metric of the own node, as the reference prints it ("257G"). */
const OWN_METRIC = Number(UMETRIC_MAX);
/** The compatibility version of a node whose description did not say (the one BMX7 speaks). */
const DEFAULT_CV = 21;

export interface HostFacts {
  /** The source revision (revision.ts), seven hex digits. */
  revision: string;
  devs: { name: string; up: boolean; rateMax: bigint; channel: number }[];
  cpuPercent(): number;
  memKb(): number;
}

export function tableRows(engine: Engine, table: string, host: HostFacts): Row[] | undefined {
  switch (table) {
    case 'status': {
      const [r] = engine.show('status');
      if (!r) return [];
      return [
        {
          ...r,
          nodeId: engine.nodeId,
          revision: host.revision,
          version: 'bmx7d',
          tun6Address: null,
          tun4Address: null,
          uptime: formatUptime(Number(r.uptime ?? 0)),
          cpu: host.cpuPercent().toFixed(1),
          mem: `${host.memKb()}K`,
          nodes: nodesCell(engine),
        },
      ];
    }
    case 'interfaces': {
      const rows = engine.show('interfaces');
      return host.devs.map((d) => {
        const r = rows.find((x) => x.dev === d.name);
        return {
          ...r,
          dev: d.name,
          state: r ? 'UP' : 'DOWN',
          type: d.channel === 0 ? 'ethernet' : 'wireless',
          channel: d.channel,
          rateMax: Number(d.rateMax),
        };
      });
    }
    case 'originators': {
      const [s] = engine.show('status');
      const self: Row = {
        shortId: engine.shortId,
        nodeId: engine.nodeId,
        name: s?.name ?? '',
        // the own node: neighbour-qualifying, and trusting and supporting itself (docs/protocol.md §5.3)
        as: 'nQ',
        S: s?.selfLevels ?? 'A',
        s: s?.selfLevels ?? 'A',
        T: s?.selfLevels ?? 'A',
        t: s?.selfLevels ?? 'A',
        descSqn: s?.descSqn ?? null,
        lastDesc: s?.lastDesc ?? null,
        descSize: s?.descSize ?? null,
        lastRef: 0,
        cv: s?.cv ?? DEFAULT_CV,
        revision: host.revision,
        primaryIp: engine.primaryIp,
        dev: null,
        nbShortId: null,
        nbName: null,
        metric: OWN_METRIC,
        hops: 0,
        ogmSqn: s?.ogmSqn ?? null,
      };
      const byIp = new Map<string, string>();
      for (const n of engine.nodes()) byIp.set(n.via?.address ?? '', n.shortId);
      const links = engine.show('links');
      return [
        self,
        ...engine.show('originators').map((r) => {
          const nb = links.find((l) => l.nbLocalIp === r.nbLocalIp && l.dev === r.dev);
          return {
            // another node's revision is known only from its INFO TLV (docs/protocol.md §4.8), when
            // the engine reads it; until then it shows as the reference shows an unknown one
            revision: UNKNOWN_REVISION,
            ...r,
            cv: r.cv ?? DEFAULT_CV,
            dev: r.dev === '---' ? null : r.dev,
            nbShortId: nb ? nb.shortId : null,
            nbName: nb ? nb.name : null,
            metric: Number(r.metric),
          } as Row;
        }),
      ];
    }
    default:
      // the engine's and its plugins' tables; an empty one is empty, not unknown
      return engine.tables().includes(table) ? engine.show(table) : undefined;
  }
}

/**
 * The status `nodes` cell as the reference prints it (docs/protocol.md §5.3): nodes with a
 * description (the originators, this one included) / nodes whose key is known (every key state,
 * this node included), e.g. `3/3`, or `2/5` while three keys are still unresolved.
 */
export function nodesCell(engine: Engine): string {
  const originators = engine.show('originators').length + 1;
  const keys = engine.show('keys');
  const self = keys.some((k) => String(k.nodeId).toLowerCase() === engine.nodeId.toLowerCase());
  return `${originators}/${Math.max(originators, keys.length + (self ? 0 : 1))}`;
}

/** bmx7d's columns after a reference table's own, where a plugin fills them. */
const EXTENSION_COLUMNS: Readonly<Record<string, readonly string[]>> = { tunnels: ['crypt'] };

/** A table as the control protocol returns it; undefined for an unknown table. */
export function tableResult(engine: Engine, table: string, host: HostFacts): TableResult | undefined {
  const def = REFERENCE_TABLES.get(table);
  const rows = tableRows(engine, table, host);
  if (rows === undefined) return undefined;
  if (def) {
    // bmx7d's own columns follow the reference's (crypt-tun's `crypt` in tunnels); rows may hold
    // more fields than any table shows, so only these are added
    const extra = (EXTENSION_COLUMNS[table] ?? []).filter((n) => rows.some((r) => n in r));
    const columns = [
      ...def.columns,
      ...extra.map((name) => ({ name, relevance: 2 as const, kind: 'text' as const })),
    ];
    return { table, title: def.title, columns, rows };
  }
  // a plugin's table: columns from its rows
  const names = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  return {
    table,
    title: table.toUpperCase(),
    columns: names.map((name) => ({ name, relevance: 2, kind: 'text' as const })),
    rows,
  };
}
