/**
 * What bmx7ctl prints for a reply: the reference's text, or `--json`. Pure, so the daemon can use
 * the same code to answer a reference client in plain text.
 */
import { type ExplainTunnelsResult, renderExplainTunnels } from './explain.js';
import { type NetworkGraph, netjsonToDot } from './netjson.js';
import type {
  ControlError,
  EventFrame,
  RequestBody,
  ResultByOp,
  TableResult,
  VersionInfo,
} from './protocol.js';
import { renderParameters, renderTable, tableToJson } from './table.js';

const asRecord = (v: unknown): Record<string, unknown> =>
  typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : {};

/** The text for a successful reply (empty for a `set`, as the reference prints nothing). */
export function formatResultText(request: RequestBody, result: unknown): string {
  switch (request.op) {
    case 'show': {
      const t = result as TableResult;
      return renderTable({ name: t.table, title: t.title, columns: t.columns }, t.rows, {
        relevance: request.args.relevance ?? 2,
      });
    }
    case 'parameters':
    case 'get':
      return renderParameters((result as ResultByOp['parameters']).parameters);
    case 'version':
      return formatVersion(result as VersionInfo);
    case 'tables':
      return `${(result as ResultByOp['tables']).tables.join(' ')}\n`;
    case 'help':
      return (result as ResultByOp['help']).text;
    case 'descriptions':
      return (result as ResultByOp['descriptions']).descriptions
        .map((d) => `${JSON.stringify(d, null, 2)}\n`)
        .join('');
    case 'set': {
      const r = result as ResultByOp['set'];
      return r.test ? `test: ${r.applied.map((w) => w.join(' ')).join(' ')}: ok\n` : '';
    }
    case 'topology':
      // NetJSON is the text form too
      return `${JSON.stringify(result, null, 2)}\n`;
    case 'explain':
      return renderExplainTunnels(result as ExplainTunnelsResult);
    default:
      return '';
  }
}

/** `bmx7ctl topology --dot`: the graph of a `topology` reply in Graphviz's DOT language. */
export function formatTopologyDot(result: unknown): string {
  return netjsonToDot(result as NetworkGraph);
}

/** The JSON value for `--json`: a table's rows as objects keyed by column name; other results as they are. */
export function formatResultJson(request: RequestBody, result: unknown): unknown {
  if (request.op === 'show') {
    const t = result as TableResult;
    const def = { name: t.table, title: t.title, columns: t.columns };
    return { table: t.table, rows: tableToJson(def, t.rows, request.args.relevance ?? 2) };
  }
  return result;
}

/**
 * `version` as the reference prints it: `version=… compatibility=… revision=… id=… nodeKey=…
 * linkKeys=… descSqn=… ip=… hostname=…` (missing values as `---`).
 */
export function formatVersion(v: VersionInfo): string {
  const r = asRecord(v);
  const fields: [string, string][] = [
    ['version', 'version'],
    ['compatibility', 'compatibility'],
    ['revision', 'revision'],
    ['id', 'nodeId'],
    ['nodeKey', 'nodeKey'],
    ['linkKeys', 'linkKeys'],
    ['descSqn', 'descSqn'],
    ['ip', 'primaryIp'],
    ['hostname', 'hostname'],
  ];
  return `${fields.map(([label, key]) => `${label}=${r[key] === undefined ? '---' : String(r[key])}`).join(' ')}\n`;
}

/** One line for an event of a log stream. */
export function formatEvent(e: EventFrame): string {
  return e.event === 'dropped' ? `(${e.message})\n` : `${e.message}\n`;
}

/** The one stderr line for an error reply. */
export function formatError(e: ControlError, program = 'bmx7ctl'): string {
  return `${program}: ${e.message.replaceAll('\n', ' ')}\n`;
}
