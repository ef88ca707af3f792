/**
 * The engine's show rows shaped into the reference's tables (bmx7-wire 5.3, fixtures/bmx7-ref/
 * show-tables.txt): formats the reference uses for cells the engine gives as plain numbers
 * (uptime, nodes), the own node as the first originator, and the host's figures (cpu, mem).
 */
import { formatUptime, REFERENCE_TABLES, type Row, type TableResult } from '@bmx7/control';
import { type Engine, UMETRIC_MAX } from '@bmx7/core';

export const REVISION = '0000000';
/** The metric of the own node, as the reference prints it ("257G"). */
const OWN_METRIC = Number(UMETRIC_MAX);

export interface HostFacts {
  devs: { name: string; up: boolean; rateMax: bigint; channel: number }[];
  cpuPercent(): number;
  memKb(): number;
}

export function tableRows(engine: Engine, table: string, host: HostFacts): Row[] | undefined {
  switch (table) {
    case 'status': {
      const [r] = engine.show('status');
      if (!r) return [];
      const nodes = Number(r.nodes ?? 1);
      return [
        {
          ...r,
          nodeId: engine.nodeId,
          revision: REVISION,
          version: 'bmx7d',
          tun6Address: null,
          tun4Address: null,
          uptime: formatUptime(Number(r.uptime ?? 0)),
          cpu: host.cpuPercent().toFixed(1),
          mem: `${host.memKb()}K`,
          nodes: `${nodes}/${nodes}`,
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
        // the own node: neighbour-qualifying, and trusting and supporting itself (bmx7-wire 5.3)
        as: 'nQ',
        S: 'A',
        s: 'A',
        T: 'A',
        t: 'A',
        descSqn: s?.descSqn ?? null,
        lastDesc: s?.lastDesc ?? null,
        descSize: s?.descSize ?? null,
        lastRef: 0,
        cv: s?.cv ?? 21,
        revision: REVISION,
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
            cv: 21,
            revision: REVISION,
            ...r,
            dev: r.dev === '---' ? null : r.dev,
            nbShortId: nb ? nb.shortId : null,
            nbName: nb ? nb.name : null,
            metric: Number(r.metric),
          } as Row;
        }),
      ];
    }
    default: {
      if (!REFERENCE_TABLES.has(table)) {
        const rows = engine.show(table);
        return rows.length > 0 ? rows : undefined;
      }
      return engine.show(table);
    }
  }
}

/** A table as the control protocol returns it; undefined for an unknown table. */
export function tableResult(engine: Engine, table: string, host: HostFacts): TableResult | undefined {
  const def = REFERENCE_TABLES.get(table);
  const rows = tableRows(engine, table, host);
  if (rows === undefined) return undefined;
  if (def) return { table, title: def.title, columns: def.columns, rows };
  // a plugin's table: columns from its rows
  const names = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  return {
    table,
    title: table.toUpperCase(),
    columns: names.map((name) => ({ name, relevance: 2, kind: 'text' as const })),
    rows,
  };
}
