/**
 * The HTTP listeners of `metricsListen` and `httpListen` (Node's http module). Read-only: GET and
 * HEAD are answered, every other method gets 405. Paths:
 *
 *   /metrics      metrics (metrics.ts), OpenMetrics or the Prometheus text format by Accept
 *   /             the status page (page.ts); on a metrics-only listener a line pointing at /metrics
 *   /api/status   the status page's snapshot as JSON (snapshot.ts)
 *   /favicon.ico  204 (there is none)
 *
 * A listener on a loopback address answers only requests whose Host is a loopback address or
 * `localhost`: a web page elsewhere cannot read it through a host name that resolves to 127.0.0.1
 * (DNS rebinding). Every answer carries no-store, nosniff and no-referrer; the page its CSP.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isLoopback, type Listen, listenAt } from './listen.js';
import { CONTENT_TYPES, formatFor, renderMetrics } from './metrics.js';
import { PAGE_CSP, STATUS_PAGE } from './page.js';
import type { Snapshot } from './snapshot.js';

/** What a listener serves. */
export interface Serves {
  readonly metrics: boolean;
  readonly page: boolean;
}

export interface ObserveRequest {
  readonly method: string;
  /** The request target (path and query). */
  readonly url: string;
  readonly host: string | undefined;
  readonly accept: string | undefined;
}

export interface ObserveResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  /** The body of a GET (a HEAD gets the same headers and no body). */
  readonly body: string;
}

export interface ObserveContext {
  readonly serves: Serves;
  /** The listener is on a loopback address (the Host check applies). */
  readonly loopback: boolean;
  /** The current snapshot; undefined while the daemon is starting. */
  snapshot(): Snapshot | undefined;
}

export class ObserveError extends Error {
  override readonly name = 'ObserveError';
  readonly code = 'ERR_LISTEN';
}

const COMMON_HEADERS = {
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-resource-policy': 'same-origin',
  // nothing but the page itself may run or load anything
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
} as const;

const TEXT = 'text/plain; charset=utf-8';

function answer(
  status: number,
  type: string,
  body: string,
  extra: Record<string, string> = {},
): ObserveResponse {
  return { status, headers: { ...COMMON_HEADERS, 'content-type': type, ...extra }, body };
}

/** `127.0.0.1`, `127.0.0.1:9100`, `[::1]:9100`, `localhost:9100` … */
export function isLoopbackHost(host: string | undefined): boolean {
  if (host === undefined) return false;
  const m = /^(?:\[([^\]]+)\]|([^:]+))(?::\d{1,5})?$/.exec(host);
  if (!m) return false;
  const name = (m[1] ?? m[2] ?? '').toLowerCase();
  return name === 'localhost' || isLoopback(name);
}

/** Answers one request (pure: the server below only carries it). */
export function respond(req: ObserveRequest, ctx: ObserveContext): ObserveResponse {
  if (req.method !== 'GET' && req.method !== 'HEAD')
    return answer(405, TEXT, `${req.method}: method not allowed (this server is read-only)\n`, {
      allow: 'GET, HEAD',
    });
  if (ctx.loopback && !isLoopbackHost(req.host))
    return answer(403, TEXT, 'this listener answers requests to a loopback address or localhost only\n');
  const path = req.url.split('?')[0] ?? '';
  const page = ctx.serves.page;
  const metrics = ctx.serves.metrics;
  if (path === '/' && page)
    return answer(200, 'text/html; charset=utf-8', STATUS_PAGE, { 'content-security-policy': PAGE_CSP });
  if (path === '/' && metrics) return answer(200, TEXT, 'bmx7d: metrics at /metrics\n');
  // browsers ask for one; the page has none
  if (path === '/favicon.ico' && page) return answer(204, TEXT, '');
  if (path === '/metrics' && metrics) {
    const s = ctx.snapshot();
    if (!s) return answer(503, TEXT, 'bmx7d is starting\n', { 'retry-after': '1' });
    const format = formatFor(req.accept);
    return answer(200, CONTENT_TYPES[format], renderMetrics(s, format));
  }
  if (path === '/api/status' && page) {
    const s = ctx.snapshot();
    if (!s) return answer(503, TEXT, 'bmx7d is starting\n', { 'retry-after': '1' });
    return answer(200, 'application/json; charset=utf-8', JSON.stringify(s));
  }
  return answer(404, TEXT, `${path}: not found\n`);
}

export interface ObserveServer {
  /** Where it listens (the port the system chose when 0 was asked for). */
  readonly listen: Listen;
  /** What it serves now. */
  readonly serves: Serves;
  /** Serves something else from the next request on, on the same socket. */
  setServes(serves: Serves): void;
  close(): Promise<void>;
}

/** At most this many connections at once; more wait in the kernel's backlog or are refused. */
const MAX_CONNECTIONS = 64;
/**
 * A connection on which nothing moves for this long is closed: a client that stops reading its
 * answer (which Node's request timeouts do not cover) cannot hold one of MAX_CONNECTIONS for good.
 */
const IDLE_TIMEOUT_MS = 10_000;

/** Starts a listener; rejects with an ObserveError naming the address when it cannot listen. */
export async function startObserveServer(init: {
  listen: Listen;
  serves: Serves;
  snapshot(): Snapshot | undefined;
  onError?(err: Error): void;
}): Promise<ObserveServer> {
  let serves = init.serves;
  const ctx: ObserveContext = {
    get serves() {
      return serves;
    },
    loopback: isLoopback(init.listen.host),
    snapshot: init.snapshot,
  };
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    let r: ObserveResponse;
    try {
      r = respond(
        { method: req.method ?? '', url: req.url ?? '/', host: req.headers.host, accept: req.headers.accept },
        ctx,
      );
    } catch (e) {
      init.onError?.(e as Error);
      r = answer(500, TEXT, 'internal error\n');
    }
    const body = Buffer.from(r.body, 'utf8');
    res.writeHead(r.status, { ...r.headers, 'content-length': String(body.length) });
    res.end(req.method === 'HEAD' ? undefined : body);
  };
  const server: Server = createServer(
    {
      maxHeaderSize: 8192,
      requestTimeout: 10_000,
      headersTimeout: 5_000,
      keepAliveTimeout: 5_000,
      // the two timeouts above are checked this often (Node's default: 30 s)
      connectionsCheckingInterval: 1_000,
    },
    handler,
  );
  server.maxConnections = MAX_CONNECTIONS;
  // with no 'timeout' listener, Node destroys the idle socket
  server.setTimeout(IDLE_TIMEOUT_MS);
  server.on('clientError', (err, socket) => {
    init.onError?.(err);
    socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    const fail = (err: NodeJS.ErrnoException) =>
      reject(
        new ObserveError(`cannot listen on ${init.listen.text} (${err.code ?? err.message})`, { cause: err }),
      );
    server.once('error', fail);
    server.listen({ host: init.listen.host, port: init.listen.port, exclusive: true }, () => {
      server.off('error', fail);
      server.on('error', (err) => init.onError?.(err));
      resolve();
    });
  });
  const listen = listenAt(init.listen.host, (server.address() as AddressInfo).port);
  return {
    listen,
    get serves() {
      return serves;
    },
    setServes(next) {
      serves = next;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
