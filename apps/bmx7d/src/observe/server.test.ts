import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { testSnapshot } from '../test/observe.js';
import { cachedSnapshot, createObserver, type Observer, wantedListeners } from './index.js';
import type { Listen } from './listen.js';
import { PAGE_CSP } from './page.js';
import { isLoopbackHost, type ObserveContext, respond } from './server.js';

const snap = testSnapshot();
const ctx = (over: Partial<ObserveContext> = {}): ObserveContext => ({
  serves: { metrics: true, page: true },
  loopback: true,
  snapshot: () => snap,
  ...over,
});
const get = (url: string, over: { method?: string; host?: string | undefined; accept?: string } = {}) => ({
  method: over.method ?? 'GET',
  url,
  host: 'host' in over ? over.host : '127.0.0.1:9100',
  accept: over.accept,
});
const loopback = (port = 0): Listen => ({ host: '127.0.0.1', port, text: `127.0.0.1:${port}` });
/** Another loopback address (Linux routes all of 127.0.0.0/8 to lo). */
const other = (port = 0): Listen => ({ host: '127.0.0.2', port, text: `127.0.0.2:${port}` });

/** One HTTP exchange with a listener: status, headers and body. */
function exchange(
  port: number,
  path: string,
  opts: { method?: string; headers?: Record<string, string>; body?: string; address?: string } = {},
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: opts.address ?? '127.0.0.1',
        port,
        path,
        method: opts.method ?? 'GET',
        headers: opts.headers,
        agent: false,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

describe('respond', () => {
  it.each(['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'TRACE', 'CONNECT'])(
    '%s gets 405 with Allow: GET, HEAD, on every path',
    (method) => {
      for (const path of ['/', '/metrics', '/api/status', '/nothing']) {
        const r = respond(get(path, { method }), ctx());
        expect(r.status).toBe(405);
        expect(r.headers.allow).toBe('GET, HEAD');
      }
    },
  );

  it('serves the page, its JSON and the metrics; other paths are 404', () => {
    const page = respond(get('/'), ctx());
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.headers['content-security-policy']).toBe(PAGE_CSP);
    const json = respond(get('/api/status?x=1'), ctx());
    expect(json.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(JSON.parse(json.body)).toEqual(JSON.parse(JSON.stringify(snap)));
    const m = respond(get('/metrics', { accept: 'application/openmetrics-text; version=1.0.0' }), ctx());
    expect(m.headers['content-type']).toBe('application/openmetrics-text; version=1.0.0; charset=utf-8');
    expect(m.body.endsWith('# EOF\n')).toBe(true);
    expect(respond(get('/metrics'), ctx()).headers['content-type']).toBe(
      'text/plain; version=0.0.4; charset=utf-8',
    );
    expect(respond(get('/favicon.ico'), ctx()).status).toBe(204);
    for (const p of ['/index.html', '/api', '/metrics/', '/../etc/passwd', '//metrics'])
      expect(respond(get(p), ctx()).status).toBe(404);
    for (const r of [page, json, m]) {
      expect(r.headers['cache-control']).toBe('no-store');
      expect(r.headers['x-content-type-options']).toBe('nosniff');
      expect(r.headers['access-control-allow-origin']).toBeUndefined();
    }
  });

  it('serves only what the listener is for', () => {
    const metricsOnly = ctx({ serves: { metrics: true, page: false } });
    expect(respond(get('/'), metricsOnly).body).toBe('bmx7d: metrics at /metrics\n');
    expect(respond(get('/api/status'), metricsOnly).status).toBe(404);
    const pageOnly = ctx({ serves: { metrics: false, page: true } });
    expect(respond(get('/metrics'), pageOnly).status).toBe(404);
  });

  it('answers 503 while the daemon starts', () => {
    const starting = ctx({ snapshot: () => undefined });
    expect(respond(get('/metrics'), starting).status).toBe(503);
    expect(respond(get('/api/status'), starting).status).toBe(503);
    expect(respond(get('/'), starting).status).toBe(200); // the page itself retries
  });

  it('a loopback listener answers loopback Hosts only (no DNS rebinding); another listener any Host', () => {
    for (const host of ['127.0.0.1', '127.0.0.1:9100', '[::1]:9100', 'localhost:9100', 'LOCALHOST'])
      expect(respond(get('/', { host }), ctx()).status, host).toBe(200);
    for (const host of [
      'evil.example',
      'evil.example:9100',
      '10.0.0.1:9100',
      '127.0.0.1.evil.example',
      undefined,
    ])
      expect(respond(get('/metrics', { host }), ctx()).status, String(host)).toBe(403);
    expect(respond(get('/metrics', { host: 'node.mesh:9100' }), ctx({ loopback: false })).status).toBe(200);
    expect(isLoopbackHost('[::1]')).toBe(true);
    expect(isLoopbackHost('[fd70::1]:80')).toBe(false);
  });
});

describe('listeners', () => {
  let observer: Observer | undefined;
  afterEach(async () => {
    await observer?.close();
    observer = undefined;
  });

  it('HTTP on loopback: GET, HEAD without a body, 405 for POST with a body, nothing else open', async () => {
    observer = createObserver({ snapshot: () => snap, now: () => 0 });
    await observer.apply(loopback(), undefined);
    const [l] = observer.listeners();
    const port = l!.listen.port;
    const g = await exchange(port, '/metrics');
    expect(g.status).toBe(200);
    expect(g.body).toContain('bmx7_links 2');
    const h = await exchange(port, '/metrics', { method: 'HEAD' });
    expect(h.status).toBe(200);
    expect(h.body).toBe('');
    expect(h.headers['content-length']).toBe(String(Buffer.byteLength(g.body)));
    const p = await exchange(port, '/metrics', { method: 'POST', body: 'x'.repeat(100_000) });
    expect(p.status).toBe(405);
    expect((await exchange(port, '/api/status')).status).toBe(404);
    const evil = await exchange(port, '/metrics', { headers: { host: 'evil.example' } });
    expect(evil.status).toBe(403);
  });

  it('one listener serves both when they name one address; a change closes and opens listeners', async () => {
    expect([...wantedListeners(loopback(9100), loopback(9100)).values()]).toEqual([
      { listen: loopback(9100), serves: { metrics: true, page: true } },
    ]);
    observer = createObserver({ snapshot: () => snap, now: () => 0 });
    await observer.apply(loopback(), undefined);
    const first = observer.listeners()[0]!.listen.port;
    // another address: a listener of its own, and the old one closes
    await observer.apply(undefined, other());
    expect(observer.listeners()).toHaveLength(1);
    const second = observer.listeners()[0]!;
    expect(second.serves).toEqual({ metrics: false, page: true });
    expect(second.listen.host).toBe('127.0.0.2');
    expect((await exchange(second.listen.port, '/', { address: '127.0.0.2' })).body).toContain(
      '<!doctype html>',
    );
    await expect(exchange(first, '/metrics')).rejects.toThrow(/ECONNREFUSED/);
    // the same address serving something else: the same socket
    await observer.apply(other(), other());
    expect(observer.listeners()).toEqual([
      expect.objectContaining({ serves: { metrics: true, page: true } }),
    ]);
    expect(observer.listeners()[0]!.listen.port).toBe(second.listen.port);
    expect((await exchange(second.listen.port, '/metrics', { address: '127.0.0.2' })).status).toBe(200);
    await observer.apply(undefined, undefined);
    expect(observer.listeners()).toHaveLength(0);
  });

  it('a move to an address in use keeps the old listener serving, names both, and moves once it is free', async () => {
    const squatter = createObserver({ snapshot: () => snap, now: () => 0 });
    try {
      await squatter.apply(undefined, other());
      const taken = squatter.listeners()[0]!.listen.port;
      observer = createObserver({ snapshot: () => snap, now: () => 0 });
      // metrics and the page on one address; the page moves to the taken one
      await observer.apply(loopback(), loopback());
      const old = observer.listeners()[0]!.listen;
      await expect(observer.apply(loopback(), other(taken))).rejects.toMatchObject({
        name: 'ObserveError',
        message: `httpListen: cannot listen on 127.0.0.2:${taken} (EADDRINUSE); still served on ${old.text}`,
      });
      expect(observer.listeners().map((l) => [l.listen.text, l.serves])).toEqual([
        [old.text, { metrics: true, page: true }],
      ]);
      expect((await exchange(old.port, '/')).body).toContain('<!doctype html>');
      expect((await exchange(old.port, '/metrics')).status).toBe(200);
      // both move to the taken address: the old one still serves both
      await expect(observer.apply(other(taken), other(taken))).rejects.toMatchObject({
        message: `metricsListen and httpListen: cannot listen on 127.0.0.2:${taken} (EADDRINUSE); still served on ${old.text}`,
      });
      expect((await exchange(old.port, '/metrics')).status).toBe(200);
      // once the address is free, the same change moves them and closes the old listener
      await squatter.close();
      await observer.apply(other(taken), other(taken));
      expect(observer.listeners().map((l) => [l.listen.text, l.serves])).toEqual([
        [`127.0.0.2:${taken}`, { metrics: true, page: true }],
      ]);
      await expect(exchange(old.port, '/metrics')).rejects.toThrow(/ECONNREFUSED/);
    } finally {
      await squatter.close();
    }
  });

  it('an address in use is an ObserveError naming the option; the other listener stays', async () => {
    const other = createObserver({ snapshot: () => snap, now: () => 0 });
    try {
      await other.apply(loopback(), undefined);
      const taken = other.listeners()[0]!.listen.port;
      observer = createObserver({ snapshot: () => snap, now: () => 0 });
      await expect(observer.apply(loopback(), loopback(taken))).rejects.toMatchObject({
        name: 'ObserveError',
        code: 'ERR_LISTEN',
        message: `httpListen: cannot listen on 127.0.0.1:${taken} (EADDRINUSE)`,
      });
      expect(observer.listeners().map((l) => l.serves)).toEqual([{ metrics: true, page: false }]);
    } finally {
      await other.close();
    }
  });

  it('reads a snapshot at most every 250 ms, whoever asks', () => {
    let t = 0;
    let reads = 0;
    const s = cachedSnapshot(
      () => {
        reads++;
        return snap;
      },
      () => t,
    );
    s();
    s();
    t = 249;
    s();
    expect(reads).toBe(1);
    t = 250;
    s();
    expect(reads).toBe(2);
  });
});
