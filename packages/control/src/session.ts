/**
 * The daemon's side of one control connection, independent of the socket: bytes in, frames out.
 * bmx7d accepts a connection (at most MAX_CLIENTS), creates a session with its backend and a sink
 * that writes to the socket, feeds it what it reads and fans its log out to every session.
 * Requests are handled synchronously against the backend; a `set` is parsed, applied to a copy of
 * the configuration, and only adopted when the whole batch is valid and the backend accepts it.
 */
import { formatOperation, type Operation, parseArgs } from './args.js';
import { createConnectionDecoder } from './connection.js';
import { requestsFromWords } from './ctl.js';
import { OptionError } from './errors.js';
import type { ExplainSubject, ExplainTunnelsResult } from './explain.js';
import { renderHelp } from './help.js';
import { encodeLegacyReply } from './legacy.js';
import type { NetworkGraph } from './netjson.js';
import { isAction, type OptionSpec, type OptionTable } from './options.js';
import { formatResultText } from './output.js';
import {
  type ControlRequest,
  encodeFrame,
  errorReply,
  LIMITS,
  MAX_CLIENTS,
  MAX_PENDING_EVENT_BYTES,
  okReply,
  PROTOCOL_VERSION,
  type Reply,
  type RequestBody,
  type RequestId,
  type TableResult,
  type VersionInfo,
} from './protocol.js';
import { applyOperations, type ConfigState, parameterEntries } from './state.js';
import { REFERENCE_TABLES } from './tables.js';

/**
 * A backend's answer to a change. A refusal that names an `option` (a value the daemon cannot use)
 * is a `bad-option` reply; one without (the system refused) is `failed`.
 */
export type Outcome = { ok: true } | { ok: false; message: string; option?: string };

/** What a session needs from the daemon. */
export interface ControlBackend {
  /** The option table (core, control and every loaded plugin's options). */
  readonly options: OptionTable;
  /**
   * Options of plugins that are not loaded (the reference's tun options in a daemon without the tun
   * plugin): refused with a message that names the option and the plugin, not as unknown.
   */
  readonly absent?: OptionTable;
  /** The configuration in force. */
  config(): ConfigState;
  /**
   * Adopts a configuration that `applyOperations` produced from `ops`; `changed` names the options
   * it changed. Refusing (an interface that does not exist, say) keeps the old configuration.
   */
  reconfigure(next: ConfigState, changed: readonly string[], ops: readonly Operation[]): Outcome;
  /** Checks a configuration without adopting it (a `set` with `test`); accepted when omitted. */
  check?(next: ConfigState): Outcome;
  /** Carries out an action (flushAll, descUpdate, resetNode …): options given only at runtime. */
  action(op: Operation): Outcome;
  version(): VersionInfo;
  tableNames(): readonly string[];
  /** A table's columns and rows, or undefined when no module registered that name. */
  table(name: string): TableResult | undefined;
  descriptions(filter: { type?: number; name?: string; relevance?: 0 | 1 | 2 }): unknown[];
  /** What the node knows of the mesh (`topology`); a daemon without it answers `failed`. */
  topology?(): NetworkGraph;
  /** Why the daemon decided what it did (`explain`); a daemon without it answers `failed`. */
  explain?(subject: ExplainSubject): ExplainTunnelsResult;
}

export interface SessionSink {
  write(data: string): void;
  /** Ends the connection after what was written. */
  close(): void;
  /** Bytes written but not yet sent; events are dropped above MAX_PENDING_EVENT_BYTES. */
  pending?(): number;
}

export interface ControlSession {
  /** Bytes read from the connection. */
  receive(chunk: Uint8Array): void;
  /** The peer closed its side. */
  end(): void;
  /** A log line of the daemon: sent when this session subscribed at `level` or above. */
  log(level: number, message: string, time?: number): void;
  readonly subscribed: number | undefined;
  readonly closed: boolean;
  /**
   * Complete frames read so far: requests, malformed lines and a plain-text request. A server
   * measures idleness by it (bytes that never finish a frame do not count as activity).
   */
  readonly frames: number;
}

export interface SessionInit {
  /** The daemon's software version, for `hello`. */
  readonly serverVersion: string;
  readonly serverName?: string;
}

/**
 * The error for an option that a plugin which is not loaded provides, or undefined when `err` is
 * not about one. Keeps the config-file line in the message, as the parsers do.
 */
export function absentPluginError(
  err: OptionError,
  absent: OptionTable | undefined,
): OptionError | undefined {
  if (err.code !== 'unknown-option' || err.option === undefined || absent === undefined) return undefined;
  const spec = absent.get(err.option);
  if (spec === undefined) return undefined;
  const where = err.line === undefined ? '' : `line ${err.line}: `;
  return new OptionError('unknown-option', `${where}${notLoadedMessage(spec)}`, {
    option: spec.name,
    line: err.line,
  });
}

/** `tunDev: the tun plugin providing this option is not loaded`. */
export function notLoadedMessage(spec: OptionSpec): string {
  return `${spec.name}: the ${spec.category} plugin providing this option is not loaded`;
}

/** Written to a connection over MAX_CLIENTS before closing it. */
export function busyFrame(): string {
  return encodeFrame(errorReply(null, 'busy', `too many control connections (at most ${MAX_CLIENTS})`));
}

export function createControlSession(
  backend: ControlBackend,
  sink: SessionSink,
  init: SessionInit,
): ControlSession {
  const decoder = createConnectionDecoder();
  let closed = false;
  let sub: { id: RequestId | undefined; level: number; legacy: boolean } | undefined;
  let dropped = 0;
  let frames = 0;

  const close = (): void => {
    if (closed) return;
    closed = true;
    sub = undefined;
    sink.close();
  };

  const serveLegacy = (words: readonly string[]): void => {
    const planned = requestsFromWords(words, backend.options);
    // a refusal is its reason and a close without the end mark, as the reference's control.c
    // answers it (docs/protocol.md §5.1): its clients then exit with an error
    const refuse = (text: string): void => {
      sink.write(text.replaceAll('$', '?'));
      close();
    };
    if (!planned.ok) {
      refuse(`${planned.message}\n`);
      return;
    }
    let text = '';
    for (const body of planned.requests) {
      const reply = handleRequest(backend, { ...body, id: 0 } as ControlRequest, init);
      if (!reply.ok) {
        refuse(`${text}${reply.error.message}\n`);
        return;
      }
      if (body.op === 'subscribe') sub = { id: undefined, level: body.args.level, legacy: true };
      else text += formatResultText(body as RequestBody, reply.result);
    }
    if (sub?.legacy === true) {
      // the reference's -cd<N>: the log follows as text until the client leaves
      sink.write(text.replaceAll('$', '?'));
      return;
    }
    sink.write(encodeLegacyReply(text));
    close();
  };

  return {
    get subscribed() {
      return sub?.level;
    },
    get closed() {
      return closed;
    },
    get frames() {
      return frames;
    },
    receive(chunk) {
      if (closed) return;
      for (const ev of decoder.push(chunk)) {
        if (closed) return;
        frames++;
        switch (ev.kind) {
          case 'error':
            sink.write(encodeFrame(ev.reply));
            break;
          case 'request': {
            const r = ev.request;
            const reply = handleRequest(backend, r, init);
            sink.write(encodeFrame(reply));
            if (reply.ok && r.op === 'subscribe') sub = { id: r.id, level: r.args.level, legacy: false };
            else if (reply.ok && r.op === 'unsubscribe') sub = undefined;
            else if (r.op === 'quit') close();
            break;
          }
          case 'legacy':
            serveLegacy(ev.words);
            break;
          case 'legacy-error':
            sink.write(`${ev.message.replaceAll('$', '?')}\n`);
            close();
            break;
        }
      }
    },
    end() {
      if (closed) return;
      for (const ev of decoder.end()) {
        frames++;
        if (ev.kind === 'legacy') serveLegacy(ev.words);
        else if (ev.kind === 'request') sink.write(encodeFrame(handleRequest(backend, ev.request, init)));
        else if (ev.kind === 'error') sink.write(encodeFrame(ev.reply));
      }
      close();
    },
    log(level, message, time) {
      if (closed || sub === undefined || level > sub.level) return;
      if (sink.pending !== undefined && sink.pending() > MAX_PENDING_EVENT_BYTES) {
        dropped++;
        return;
      }
      if (sub.legacy) {
        sink.write(`${message.replaceAll('$', '?')}\n`);
        return;
      }
      const id = sub.id as RequestId;
      if (dropped > 0) {
        sink.write(
          encodeFrame({ type: 'event', sub: id, event: 'dropped', message: `${dropped} log lines dropped` }),
        );
        dropped = 0;
      }
      sink.write(
        encodeFrame({
          type: 'event',
          sub: id,
          event: 'log',
          level,
          message,
          ...(time === undefined ? {} : { time }),
        }),
      );
    },
  };
}

/** One request against the backend. Never throws: a throwing backend becomes an `internal` error. */
export function handleRequest(backend: ControlBackend, r: ControlRequest, init: SessionInit): Reply {
  try {
    return dispatch(backend, r, init);
  } catch (e) {
    return errorReply(r.id, 'internal', `${r.op}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

function dispatch(backend: ControlBackend, r: ControlRequest, init: SessionInit): Reply {
  switch (r.op) {
    case 'hello':
      if (r.args.protocol !== undefined && r.args.protocol !== PROTOCOL_VERSION) {
        return errorReply(
          r.id,
          'unsupported-protocol',
          `protocol ${r.args.protocol} not supported (this daemon speaks ${PROTOCOL_VERSION})`,
        );
      }
      return okReply(r.id, {
        protocol: PROTOCOL_VERSION,
        server: init.serverName ?? 'bmx7d',
        version: init.serverVersion,
        limits: LIMITS,
      });
    case 'version':
      return okReply(r.id, backend.version());
    case 'tables':
      return okReply(r.id, { tables: [...backend.tableNames()] });
    case 'show': {
      const t = backend.table(r.args.table);
      if (t === undefined) {
        const names = backend.tableNames().join(' ');
        // a table of the reference daemon (references, contents, cpu) is named as such, not as unknown
        if (REFERENCE_TABLES.has(r.args.table))
          return errorReply(
            r.id,
            'unknown-table',
            `requested table ${r.args.table} is the reference bmx7 daemon's: ${init.serverName ?? 'bmx7d'} does not have it (its tables: ${names})`,
          );
        return errorReply(r.id, 'unknown-table', `requested table ${r.args.table} must be one of: ${names}`);
      }
      return okReply(r.id, t);
    }
    case 'parameters':
      return okReply(r.id, { parameters: parameterEntries(backend.config(), backend.options) });
    case 'get': {
      const spec = backend.options.get(r.args.name);
      if (spec === undefined) {
        const absent = backend.absent?.get(r.args.name);
        if (absent !== undefined)
          return errorReply(r.id, 'bad-option', notLoadedMessage(absent), absent.name);
        return errorReply(r.id, 'bad-option', `${r.args.name}: unknown option`, r.args.name);
      }
      return okReply(r.id, { parameters: parameterEntries(backend.config(), backend.options, spec.name) });
    }
    case 'set':
      return set(backend, r.id, r.args.argv, r.args.test === true);
    case 'descriptions':
      return okReply(r.id, { descriptions: backend.descriptions(r.args) });
    case 'help':
      return okReply(r.id, {
        text: renderHelp(backend.options, {
          verbose: r.args.verbose === true,
          relevance: r.args.relevance ?? 2,
        }),
      });
    case 'topology':
      return backend.topology
        ? okReply(r.id, backend.topology())
        : errorReply(r.id, 'failed', 'topology: not available in this daemon');
    case 'explain':
      return backend.explain
        ? okReply(r.id, backend.explain(r.args.subject))
        : errorReply(r.id, 'failed', `explain ${r.args.subject}: not available in this daemon`);
    case 'subscribe':
      return okReply(r.id, { level: r.args.level });
    case 'unsubscribe':
    case 'quit':
      return okReply(r.id, {});
  }
}

function set(backend: ControlBackend, id: RequestId, argv: readonly string[], test: boolean): Reply {
  const parsed = parseArgs(argv, backend.options, { context: 'runtime' });
  if (!parsed.ok) {
    const e = absentPluginError(parsed.error, backend.absent) ?? parsed.error;
    return errorReply(id, 'bad-option', e.message, e.option);
  }
  const ops = parsed.value.ops;
  const applied = applyOperations(backend.config(), ops, backend.options);
  if (!applied.ok) return errorReply(id, 'bad-option', applied.error.message, applied.error.option);
  const words = ops.map(formatOperation);
  const live = ops.filter((op) => !op.checkOnly);
  if (test || live.length === 0) {
    const outcome = backend.check?.(applied.state) ?? { ok: true };
    if (!outcome.ok) return refusal(id, outcome);
    return okReply(id, { applied: words, test: true });
  }
  const configuring = live.filter((op) => !isAction(backend.options.get(op.option)));
  if (configuring.length > 0) {
    const outcome = backend.reconfigure(applied.state, applied.changed, configuring);
    if (!outcome.ok) return refusal(id, outcome);
  }
  for (const op of live) {
    if (!isAction(backend.options.get(op.option))) continue;
    const outcome = backend.action(op);
    if (!outcome.ok) return errorReply(id, 'failed', `${op.option}: ${outcome.message}`);
  }
  return okReply(id, { applied: words, test: parsed.value.test });
}

function refusal(id: RequestId, o: { message: string; option?: string }): Reply {
  return o.option === undefined
    ? errorReply(id, 'failed', o.message)
    : errorReply(id, 'bad-option', o.message, o.option);
}
