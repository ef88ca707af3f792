/**
 * The daemon behind @bmx7/control's session (`ControlBackend`): its option table, the
 * configuration in force and how a new one is checked and adopted, the actions, and the engine's
 * tables. The session does everything else (parsing, all-or-nothing `set`, replies), so bmx7d and
 * the protocol's own tests share one implementation of the control protocol.
 */
import {
  type ConfigState,
  type ControlBackend,
  type Operation,
  OptionError,
  type OptionTable,
  type Outcome,
} from '@bmx7/control';
import type { Engine, EnginePlugin, MetricParams } from '@bmx7/core';
import type { TunPlugin } from '@bmx7/plugin-tun';
import type { DaemonLogger } from './log.js';
import { type HostFacts, tableResult } from './tables.js';
import { buildNetworkGraph, type TopologyReader, topologyFacts } from './topology.js';

export interface DaemonControl {
  readonly engine: Engine;
  readonly options: OptionTable;
  /** Options of plugins bmx7d has not loaded (refused naming the plugin). */
  readonly absent: OptionTable;
  readonly host: HostFacts;
  readonly logger: DaemonLogger;
  /** `bmx7d-<version>`. */
  readonly version: string;
  readonly revision: string;
  config(): ConfigState;
  /** Checks a whole configuration; throws OptionError naming the option. */
  check(next: ConfigState): void;
  /** Checks and adopts a configuration; throws OptionError naming the option. */
  adopt(next: ConfigState): void;
  compatibility(): number;
  /** Carries out `setTrustedNode` (edits a file in the trusted-nodes directory, trust-dir.ts). */
  setTrustedNode?(op: Operation): Outcome;
  /** A running built-in plugin by name (`topology` and `explain` read the topology and tun plugins). */
  plugin?(name: string): EnginePlugin | undefined;
  /** The own METRIC settings (the engine's `metric`), for the links' throughput in the graph. */
  metric?(): Partial<MetricParams> | undefined;
}

function refusal(e: unknown): Outcome {
  if (e instanceof OptionError)
    return { ok: false, message: e.message, ...(e.option ? { option: e.option } : {}) };
  return { ok: false, message: e instanceof Error ? e.message : String(e) };
}

function logOps(logger: DaemonLogger, ops: readonly Operation[]): void {
  for (const op of ops) logger.log(3, 'applied', { option: op.option, op: op.op, value: op.value });
}

export function createDaemonBackend(d: DaemonControl): ControlBackend {
  const eng = d.engine;
  return {
    options: d.options,
    absent: d.absent,
    config: () => d.config(),
    check(next) {
      try {
        d.check(next);
        return { ok: true };
      } catch (e) {
        return refusal(e);
      }
    },
    reconfigure(next, _changed, ops) {
      try {
        d.adopt(next);
      } catch (e) {
        return refusal(e);
      }
      logOps(d.logger, ops);
      return { ok: true };
    },
    action(op) {
      switch (op.option) {
        // the engine has no purge of its own yet: a new description makes every neighbour re-fetch it
        case 'flushAll':
        case 'descUpdate':
          eng.descUpdate();
          break;
        case 'resetNode':
          return { ok: false, message: 'not supported by bmx7d' };
        // only files change; the directory's watcher gives the engine the new list
        case 'setTrustedNode': {
          const r = d.setTrustedNode?.(op) ?? { ok: false, message: 'not supported by bmx7d' };
          if (!r.ok) return r;
          break;
        }
        default:
          return { ok: true }; // a query given with other options: answered by its own request
      }
      logOps(d.logger, [op]);
      return { ok: true };
    },
    version() {
      const [s] = eng.show('status');
      return {
        version: d.version,
        compatibility: d.compatibility(),
        revision: d.revision,
        nodeId: eng.nodeId,
        nodeKey: String(s?.nodeKey ?? ''),
        descSqn: Number(s?.descSqn ?? 0),
        primaryIp: eng.primaryIp,
        hostname: String(s?.name ?? ''),
      };
    },
    tableNames: () => eng.tables(),
    table: (name) => tableResult(eng, name, d.host),
    topology: () =>
      buildNetworkGraph(
        topologyFacts(eng, {
          devs: d.host.devs,
          metric: d.metric?.(),
          version: d.version,
          revision: d.revision,
          announced: (d.plugin?.('topology') as TopologyReader | undefined)?.announced(),
        }),
      ),
    explain: (subject) => {
      // the tun plugin's explanation of the selection in force (packages/tun explain.ts)
      const tun = d.plugin?.('tun') as TunPlugin | undefined;
      return { subject, searches: tun?.explain().searches ?? [] };
    },
    descriptions: (filter) =>
      eng
        .nodes()
        .filter((n) => filter.name === undefined || n.name === filter.name)
        .map((n) => ({ ...n })),
  };
}
