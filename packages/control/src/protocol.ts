/**
 * The bmx7d control protocol, version 1 (specified in this package's README): newline-delimited
 * JSON frames over a stream (the daemon's Unix socket `<runtimeDir>/sock`, mode 0600). The client
 * speaks first; each request gets exactly one reply; a subscription adds event frames. Decoding
 * never throws: every malformed frame becomes an error reply and the stream stays usable.
 */
import { EXPLAIN_SUBJECTS, type ExplainSubject, type ExplainTunnelsResult } from './explain.js';
import type { NetworkGraph } from './netjson.js';
import type { ColumnDef, ParameterEntry, Row } from './table.js';

export const PROTOCOL_NAME = 'bmx7d-control';
/** Incremented for incompatible changes; new ops and new optional fields do not change it. */
export const PROTOCOL_VERSION = 1;

/** Largest request frame, in bytes, including its newline. Longer lines get `frame-too-large`. */
export const MAX_REQUEST_BYTES = 64 * 1024;
/** Largest frame a client accepts from the daemon (tables of large meshes are big). */
export const MAX_REPLY_BYTES = 16 * 1024 * 1024;
/** Connections the daemon serves at once; more are answered with one `busy` reply and closed. */
export const MAX_CLIENTS = 16;
/**
 * A connection that completes no frame for this long (connected and silent, or stuck in the middle
 * of a line) is closed, unless it holds a log subscription: idle clients cannot hold the
 * MAX_CLIENTS slots. The timer restarts with every complete frame.
 */
export const IDLE_TIMEOUT_MS = 5000;
/** Longest request id (a string id, or the decimal digits of a numeric one). */
export const MAX_ID_LENGTH = 128;
/** Most words in a `set` request. */
export const MAX_ARGV_WORDS = 256;
/** Event bytes a daemon queues for a slow subscriber before it drops events (and says so). */
export const MAX_PENDING_EVENT_BYTES = 1024 * 1024;
/** Longest message the daemon puts in an error reply. */
export const MAX_ERROR_MESSAGE = 512;

export type RequestId = string | number;

export type ErrorCode =
  | 'bad-frame'
  | 'frame-too-large'
  | 'bad-encoding'
  | 'unknown-op'
  | 'bad-args'
  | 'bad-option'
  | 'unknown-table'
  | 'unsupported-protocol'
  | 'busy'
  /** A valid request the daemon could not carry out (the system refused a change, say). */
  | 'failed'
  | 'internal';

export interface ControlError {
  readonly code: ErrorCode;
  readonly message: string;
  /** The option a `bad-option` names. */
  readonly option?: string;
}

export interface VersionInfo {
  readonly version: string;
  readonly compatibility: number;
  readonly revision?: string;
  readonly nodeId?: string;
  readonly nodeKey?: string;
  readonly linkKeys?: string;
  readonly descSqn?: number;
  readonly primaryIp?: string;
  readonly hostname?: string;
}

/** A table as the daemon returns it: every column with its relevance, every row; the client renders. */
export interface TableResult {
  readonly table: string;
  readonly title: string;
  readonly columns: readonly ColumnDef[];
  readonly rows: readonly Row[];
}

/** Requests by op; `args` defaults to `{}`. */
export type ControlRequest =
  | {
      readonly id: RequestId;
      readonly op: 'hello';
      readonly args: { readonly protocol?: number; readonly client?: string };
    }
  | { readonly id: RequestId; readonly op: 'version'; readonly args: Record<string, never> }
  | { readonly id: RequestId; readonly op: 'tables'; readonly args: Record<string, never> }
  | {
      readonly id: RequestId;
      readonly op: 'show';
      readonly args: { readonly table: string; readonly relevance?: 0 | 1 | 2 };
    }
  | { readonly id: RequestId; readonly op: 'parameters'; readonly args: Record<string, never> }
  | { readonly id: RequestId; readonly op: 'get'; readonly args: { readonly name: string } }
  | {
      readonly id: RequestId;
      readonly op: 'set';
      readonly args: { readonly argv: readonly string[]; readonly test?: boolean };
    }
  | {
      readonly id: RequestId;
      readonly op: 'descriptions';
      readonly args: { readonly type?: number; readonly name?: string; readonly relevance?: 0 | 1 | 2 };
    }
  | {
      readonly id: RequestId;
      readonly op: 'help';
      readonly args: { readonly verbose?: boolean; readonly relevance?: 0 | 1 | 2 };
    }
  /** What the node knows of the mesh, as a NetJSON NetworkGraph (netjson.ts). */
  | { readonly id: RequestId; readonly op: 'topology'; readonly args: Record<string, never> }
  /** Why the daemon decided what it did: `tunnels`, each search's gateway choice (explain.ts). */
  | { readonly id: RequestId; readonly op: 'explain'; readonly args: { readonly subject: ExplainSubject } }
  | { readonly id: RequestId; readonly op: 'subscribe'; readonly args: { readonly level: number } }
  | { readonly id: RequestId; readonly op: 'unsubscribe'; readonly args: Record<string, never> }
  | { readonly id: RequestId; readonly op: 'quit'; readonly args: Record<string, never> };

export type ControlOp = ControlRequest['op'];
/** A request without its id, as a client builds it. */
export type RequestBody = ControlRequest extends infer R
  ? R extends { id: RequestId }
    ? Omit<R, 'id'>
    : never
  : never;

export const CONTROL_OPS: readonly ControlOp[] = [
  'hello',
  'version',
  'tables',
  'show',
  'parameters',
  'get',
  'set',
  'descriptions',
  'help',
  'topology',
  'explain',
  'subscribe',
  'unsubscribe',
  'quit',
];

/** What each op's successful reply carries. */
export interface ResultByOp {
  hello: { protocol: number; server: string; version: string; limits: Limits };
  version: VersionInfo;
  tables: { tables: string[] };
  show: TableResult;
  parameters: { parameters: ParameterEntry[] };
  get: { parameters: ParameterEntry[] };
  /** The operations as applied (or checked, with `test`), each as the words that give it back. */
  set: { applied: string[][]; test: boolean };
  descriptions: { descriptions: unknown[] };
  help: { text: string };
  topology: NetworkGraph;
  explain: ExplainTunnelsResult;
  subscribe: { level: number };
  unsubscribe: Record<string, never>;
  quit: Record<string, never>;
}

export interface Limits {
  maxRequestBytes: number;
  maxClients: number;
  maxArgvWords: number;
}

export const LIMITS: Limits = {
  maxRequestBytes: MAX_REQUEST_BYTES,
  maxClients: MAX_CLIENTS,
  maxArgvWords: MAX_ARGV_WORDS,
};

export interface OkReply<T = unknown> {
  readonly type: 'reply';
  readonly id: RequestId;
  readonly ok: true;
  readonly result: T;
}
export interface ErrorReply {
  readonly type: 'reply';
  /** null when the request's id could not be read. */
  readonly id: RequestId | null;
  readonly ok: false;
  readonly error: ControlError;
}
export type Reply<T = unknown> = OkReply<T> | ErrorReply;

/** A log line or state change streamed to a subscriber. */
export interface EventFrame {
  readonly type: 'event';
  /** The id of the subscribe request. */
  readonly sub: RequestId;
  readonly event: 'log' | 'dropped';
  /** Debug level of a log line (0 system … 12 traffic dump). */
  readonly level?: number;
  readonly message: string;
  /** Milliseconds since the daemon started. */
  readonly time?: number;
}

export type ServerFrame = Reply | EventFrame;

export function okReply<T>(id: RequestId, result: T): OkReply<T> {
  return { type: 'reply', id, ok: true, result };
}

export function errorReply(
  id: RequestId | null,
  code: ErrorCode,
  message: string,
  option?: string,
): ErrorReply {
  const m = message.length > MAX_ERROR_MESSAGE ? `${message.slice(0, MAX_ERROR_MESSAGE - 1)}…` : message;
  return {
    type: 'reply',
    id,
    ok: false,
    error: option === undefined ? { code, message: m } : { code, message: m, option },
  };
}

/** One frame as a line (JSON escapes every newline inside strings, so the frame stays one line). */
export function encodeFrame(frame: ServerFrame | ControlRequest): string {
  return `${JSON.stringify(frame)}\n`;
}

// ---------------------------------------------------------------------------------------------
// Line framing

export type LineEvent =
  | { readonly ok: true; readonly line: string }
  | { readonly ok: false; readonly code: 'frame-too-large' | 'bad-encoding'; readonly message: string };

export interface LineDecoder {
  /** Feeds bytes; returns the complete lines (and framing errors) they finish, in order. */
  push(chunk: Uint8Array): LineEvent[];
  /** Bytes held for an unfinished line. */
  buffered(): number;
}

const NL = 0x0a;

/**
 * Splits a byte stream into UTF-8 lines of at most `maxLineBytes` (newline included). A longer
 * line yields one `frame-too-large` and is skipped up to its newline; a line that is not UTF-8
 * yields `bad-encoding`. Memory stays bounded by `maxLineBytes` whatever arrives.
 */
export function createLineDecoder(maxLineBytes: number = MAX_REQUEST_BYTES): LineDecoder {
  if (!Number.isInteger(maxLineBytes) || maxLineBytes < 2) throw new RangeError('maxLineBytes');
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  let parts: Uint8Array[] = [];
  let size = 0;
  let skipping = false;

  const take = (): Uint8Array => {
    const out = new Uint8Array(size);
    let o = 0;
    for (const p of parts) {
      out.set(p, o);
      o += p.length;
    }
    parts = [];
    size = 0;
    return out;
  };

  return {
    buffered: () => size,
    push(chunk: Uint8Array): LineEvent[] {
      const events: LineEvent[] = [];
      let start = 0;
      while (start < chunk.length) {
        const nl = chunk.indexOf(NL, start);
        const end = nl < 0 ? chunk.length : nl;
        if (skipping) {
          // the rest of a line already reported as too large
          if (nl >= 0) skipping = false;
        } else if (size + (end - start) + 1 > maxLineBytes) {
          // this line, with its newline, cannot fit: report it once and drop it up to its newline
          parts = [];
          size = 0;
          skipping = nl < 0;
          events.push({
            ok: false,
            code: 'frame-too-large',
            message: `frame longer than ${maxLineBytes} bytes`,
          });
        } else {
          parts.push(chunk.slice(start, end));
          size += end - start;
          if (nl >= 0) {
            const bytes = take();
            try {
              let line = utf8.decode(bytes);
              if (line.endsWith('\r')) line = line.slice(0, -1);
              events.push({ ok: true, line });
            } catch {
              events.push({ ok: false, code: 'bad-encoding', message: 'frame is not UTF-8' });
            }
          }
        }
        if (nl < 0) break;
        start = nl + 1;
      }
      return events;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Requests

export type RequestResult = { ok: true; request: ControlRequest } | { ok: false; reply: ErrorReply };

const OP_SET = new Set<string>(CONTROL_OPS);

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const isRelevance = (v: unknown): v is 0 | 1 | 2 => v === 0 || v === 1 || v === 2;

/** Checks a request line and gives the typed request, or the error reply to send. Never throws. */
export function decodeRequest(line: string): RequestResult {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return bad(null, 'bad-frame', 'frame is not JSON');
  }
  if (!isObject(v)) return bad(null, 'bad-frame', 'frame is not a JSON object');
  const id = v.id;
  if (
    !(typeof id === 'string' && id.length <= MAX_ID_LENGTH) &&
    !(typeof id === 'number' && Number.isSafeInteger(id))
  ) {
    return bad(null, 'bad-frame', `id must be a string of at most ${MAX_ID_LENGTH} characters or an integer`);
  }
  const op = v.op;
  if (typeof op !== 'string') return bad(id, 'bad-frame', 'op missing');
  if (!OP_SET.has(op)) return bad(id, 'unknown-op', `unknown op ${JSON.stringify(op.slice(0, 40))}`);
  const a = v.args === undefined ? {} : v.args;
  if (!isObject(a)) return bad(id, 'bad-args', `${op}: args must be an object`);
  const args = checkArgs(op as ControlOp, a);
  if (typeof args === 'string') return bad(id, 'bad-args', `${op}: ${args}`);
  return { ok: true, request: { id, op, args } as ControlRequest };
}

function bad(id: RequestId | null, code: ErrorCode, message: string): RequestResult {
  return { ok: false, reply: errorReply(id, code, message) };
}

/** The args of a known op, checked and without unknown fields, or the reason they are wrong. */
function checkArgs(op: ControlOp, a: Record<string, unknown>): Record<string, unknown> | string {
  switch (op) {
    case 'hello': {
      const out: Record<string, unknown> = {};
      if (a.protocol !== undefined) {
        if (!Number.isSafeInteger(a.protocol)) return 'protocol must be an integer';
        out.protocol = a.protocol;
      }
      if (a.client !== undefined) {
        if (typeof a.client !== 'string' || a.client.length > 128) return 'client must be a short string';
        out.client = a.client;
      }
      return out;
    }
    case 'show': {
      if (typeof a.table !== 'string' || !/^[A-Za-z][A-Za-z0-9]{0,63}$/.test(a.table))
        return 'table must be a table name';
      if (a.relevance !== undefined && !isRelevance(a.relevance)) return 'relevance must be 0, 1 or 2';
      return a.relevance === undefined ? { table: a.table } : { table: a.table, relevance: a.relevance };
    }
    case 'get':
      if (typeof a.name !== 'string' || !/^[A-Za-z][A-Za-z0-9]{0,63}$/.test(a.name))
        return 'name must be an option name';
      return { name: a.name };
    case 'set': {
      const argv = a.argv;
      if (!Array.isArray(argv) || argv.length === 0) return 'argv must be a non-empty array of words';
      if (argv.length > MAX_ARGV_WORDS) return `argv has more than ${MAX_ARGV_WORDS} words`;
      for (const w of argv)
        if (typeof w !== 'string' || w.length === 0 || /\s/.test(w))
          return 'argv words must be non-empty strings without white space';
      if (a.test !== undefined && typeof a.test !== 'boolean') return 'test must be a boolean';
      return a.test === undefined ? { argv } : { argv, test: a.test };
    }
    case 'descriptions': {
      const out: Record<string, unknown> = {};
      if (a.type !== undefined) {
        if (!Number.isInteger(a.type) || (a.type as number) < 0 || (a.type as number) > 255)
          return 'type must be 0..255';
        out.type = a.type;
      }
      if (a.name !== undefined) {
        if (typeof a.name !== 'string' || a.name.length > 63) return 'name must be a host name';
        out.name = a.name;
      }
      if (a.relevance !== undefined) {
        if (!isRelevance(a.relevance)) return 'relevance must be 0, 1 or 2';
        out.relevance = a.relevance;
      }
      return out;
    }
    case 'help': {
      const out: Record<string, unknown> = {};
      if (a.verbose !== undefined) {
        if (typeof a.verbose !== 'boolean') return 'verbose must be a boolean';
        out.verbose = a.verbose;
      }
      if (a.relevance !== undefined) {
        if (!isRelevance(a.relevance)) return 'relevance must be 0, 1 or 2';
        out.relevance = a.relevance;
      }
      return out;
    }
    case 'explain':
      if (!EXPLAIN_SUBJECTS.includes(a.subject as ExplainSubject))
        return `subject must be one of: ${EXPLAIN_SUBJECTS.join(' ')}`;
      return { subject: a.subject };
    case 'subscribe':
      if (!Number.isInteger(a.level) || (a.level as number) < 0 || (a.level as number) > 12)
        return 'level must be 0..12';
      return { level: a.level };
    case 'version':
    case 'tables':
    case 'parameters':
    case 'topology':
    case 'unsubscribe':
    case 'quit':
      return {};
  }
}

export type DecodedRequest =
  | { kind: 'request'; request: ControlRequest }
  | { kind: 'error'; reply: ErrorReply };

export interface RequestDecoder {
  /** Feeds bytes from a client; returns each request, or the error reply for each bad frame. */
  push(chunk: Uint8Array): DecodedRequest[];
  buffered(): number;
}

/**
 * The daemon's side of a connection: framing plus request checks. Blank lines are ignored
 * (keep-alives); every other line yields exactly one item.
 */
export function createRequestDecoder(maxLineBytes: number = MAX_REQUEST_BYTES): RequestDecoder {
  const lines = createLineDecoder(maxLineBytes);
  return {
    buffered: () => lines.buffered(),
    push(chunk) {
      const out: DecodedRequest[] = [];
      for (const ev of lines.push(chunk)) {
        if (!ev.ok) {
          out.push({ kind: 'error', reply: errorReply(null, ev.code, ev.message) });
          continue;
        }
        if (ev.line.trim().length === 0) continue;
        const r = decodeRequest(ev.line);
        out.push(r.ok ? { kind: 'request', request: r.request } : { kind: 'error', reply: r.reply });
      }
      return out;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Server frames, for clients

export type ServerFrameResult = { ok: true; frame: ServerFrame } | { ok: false; reason: string };

/** Checks a line from the daemon. Never throws. */
export function decodeServerFrame(line: string): ServerFrameResult {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return { ok: false, reason: 'frame is not JSON' };
  }
  if (!isObject(v)) return { ok: false, reason: 'frame is not a JSON object' };
  if (v.type === 'reply') {
    const idOk = typeof v.id === 'string' || typeof v.id === 'number' || (v.id === null && v.ok === false);
    if (!idOk) return { ok: false, reason: 'reply without id' };
    if (v.ok === true && 'result' in v) return { ok: true, frame: v as unknown as OkReply };
    if (
      v.ok === false &&
      isObject(v.error) &&
      typeof v.error.code === 'string' &&
      typeof v.error.message === 'string'
    ) {
      return { ok: true, frame: v as unknown as ErrorReply };
    }
    return { ok: false, reason: 'malformed reply' };
  }
  if (v.type === 'event') {
    if ((typeof v.sub !== 'string' && typeof v.sub !== 'number') || typeof v.message !== 'string')
      return { ok: false, reason: 'malformed event' };
    if (v.event !== 'log' && v.event !== 'dropped') return { ok: false, reason: 'unknown event' };
    return { ok: true, frame: v as unknown as EventFrame };
  }
  return { ok: false, reason: 'unknown frame type' };
}

/** Which protocol a connection speaks, from its first bytes: JSON frames start with `{`. */
export function detectProtocol(firstBytes: Uint8Array): 'json' | 'legacy' | undefined {
  for (const b of firstBytes) {
    if (b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d) continue;
    return b === 0x7b ? 'json' : 'legacy';
  }
  return undefined;
}

export interface ServerFrameDecoder {
  /** Feeds bytes from the daemon; returns each frame, or why a line was not one. */
  push(chunk: Uint8Array): ServerFrameResult[];
}

/** The client's side of a connection: framing (up to MAX_REPLY_BYTES a frame) plus frame checks. */
export function createServerFrameDecoder(maxFrameBytes: number = MAX_REPLY_BYTES): ServerFrameDecoder {
  const lines = createLineDecoder(maxFrameBytes);
  return {
    push(chunk) {
      const out: ServerFrameResult[] = [];
      for (const ev of lines.push(chunk)) {
        if (!ev.ok) out.push({ ok: false, reason: ev.message });
        else if (ev.line.trim().length > 0) out.push(decodeServerFrame(ev.line));
      }
      return out;
    },
  };
}
