import { mkdtempSync, rmSync, statSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CONTROL_OPTIONS,
  CORE_OPTIONS,
  type ControlBackend,
  createOptionTable,
  EMPTY_CONFIG,
  IDLE_TIMEOUT_MS,
  MAX_CLIENTS,
  MAX_REQUEST_BYTES,
  STATUS_TABLE,
  TUN_OPTIONS,
} from '@bmx7/control';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type ControlServer, startControlServer } from './control-server.js';

const connect = (path: string) =>
  new Promise<net.Socket>((resolve, reject) => {
    const s = net.createConnection(path, () => resolve(s));
    s.once('error', reject);
  });

/** A client that never reads: with `onread`, pause() stops reading from the kernel. */
const connectDeaf = (path: string) =>
  new Promise<net.Socket>((resolve, reject) => {
    const s = net.createConnection({ path, onread: { buffer: Buffer.alloc(16), callback: () => false } });
    s.once('connect', () => {
      s.pause();
      resolve(s);
    });
    s.once('error', reject);
  });

const closed = (s: net.Socket) =>
  new Promise<void>((resolve) =>
    s.destroyed && s.readableEnded ? resolve() : s.once('close', () => resolve()),
  );

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Sends lines and collects the reply lines until `n` arrived. */
function exchange(s: net.Socket, text: string | Buffer, n: number): Promise<Record<string, unknown>[]> {
  return new Promise((resolve) => {
    let buf = '';
    const onData = (d: Buffer) => {
      buf += d;
      const lines = buf.split('\n').filter(Boolean);
      if (lines.length >= n) {
        s.off('data', onData);
        resolve(lines.map((l) => JSON.parse(l)));
      }
    };
    s.on('data', onData);
    s.write(text);
  });
}

/** Everything a connection receives until the daemon closes it. */
const readAll = (s: net.Socket) =>
  new Promise<string>((resolve) => {
    let buf = '';
    s.on('data', (d) => {
      buf += d;
    });
    s.on('close', () => resolve(buf));
  });

function backend(): ControlBackend {
  return {
    options: createOptionTable(CONTROL_OPTIONS, CORE_OPTIONS),
    absent: createOptionTable(TUN_OPTIONS),
    config: () => EMPTY_CONFIG,
    reconfigure: () => ({ ok: true }),
    action: () => ({ ok: true }),
    version: () => ({ version: 'bmx7d-test', compatibility: 21 }),
    tableNames: () => ['status'],
    // a big reply, so that writes to a client that left fail (EPIPE)
    table: (name) =>
      name === 'status'
        ? {
            table: 'status',
            title: 'STATUS',
            columns: STATUS_TABLE.columns,
            rows: Array.from({ length: 2000 }, (_, i) => ({
              shortId: `${i}`.padStart(8, '0'),
              name: 'x'.repeat(60),
            })),
          }
        : undefined,
    descriptions: () => [],
  };
}

/** A clock that moves only when the test says so. */
function manualClock() {
  let now = 0;
  const tasks = new Set<{ due: number; fn: () => void }>();
  return {
    schedule(ms: number, fn: () => void) {
      const t = { due: now + ms, fn };
      tasks.add(t);
      return () => tasks.delete(t);
    },
    /** Moves the time on and runs the tasks that are due. */
    advance(ms: number) {
      now += ms;
      for (const t of [...tasks].filter((x) => x.due <= now)) {
        tasks.delete(t);
        t.fn();
      }
    },
  };
}

describe('control socket server', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bmx7d-ctl-'));
  const path = join(dir, 'sock');
  let server: ControlServer;
  beforeAll(async () => {
    server = await startControlServer({ path, backend: backend(), serverVersion: 'test' });
  });
  afterAll(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('is a socket of mode 0600', () => {
    const st = statSync(path);
    expect(st.isSocket()).toBe(true);
    expect(st.mode & 0o777).toBe(0o600);
  });

  it('answers in order, keeps the connection after bad frames, bounds the request size, streams the log', async () => {
    const s = await connect(path);
    const big = `{"id":1,"op":"version","args":{"x":"${'x'.repeat(MAX_REQUEST_BYTES)}"}}\n`;
    const r = await exchange(
      s,
      `{"id":1,"op":"version"}\nnope\n${big}{"id":2,"op":"subscribe","args":{"level":3}}\n`,
      4,
    );
    expect(r.map((x) => x.ok)).toEqual([true, false, false, true]);
    expect((r[2] as { error: { code: string } }).error.code).toBe('frame-too-large');
    expect(server.logLevel()).toBe(3);
    const ev = exchange(s, '', 1);
    server.log(4, 'too detailed');
    server.log(3, 'hello', 10);
    expect(await ev).toEqual([{ type: 'event', sub: 2, event: 'log', level: 3, message: 'hello', time: 10 }]);
    s.destroy();
    await closed(s);
    await sleep(20);
    expect(server.logLevel()).toBe(-1);
  });

  it('answers the reference plain-text protocol and closes', async () => {
    const s = await connect(path);
    const text = readAll(s);
    s.write('version #');
    expect(await text).toMatch(/bmx7d-test[\s\S]*\$$/);
  });

  it('refuses an option of a plugin that is not loaded, naming it', async () => {
    const s = await connect(path);
    const [r] = await exchange(s, '{"id":1,"op":"set","args":{"argv":["tunDev=tun1"]}}\n', 1);
    expect(r).toMatchObject({
      ok: false,
      error: {
        code: 'bad-option',
        option: 'tunDev',
        message: 'tunDev: the tun plugin providing this option is not loaded',
      },
    });
    s.destroy();
  });

  it(`serves at most ${MAX_CLIENTS} clients and tells the next one it is busy`, async () => {
    const held: net.Socket[] = [];
    for (let i = 0; i < MAX_CLIENTS; i++) held.push(await connect(path));
    await sleep(50);
    expect(server.clients()).toBe(MAX_CLIENTS);
    const extra = await connect(path);
    const reply = await readAll(extra);
    expect(JSON.parse(reply)).toMatchObject({ ok: false, error: { code: 'busy' } });
    for (const h of held) h.destroy();
  });
});

describe('control socket robustness', () => {
  const dirs: string[] = [];
  const servers: ControlServer[] = [];
  afterEach(async () => {
    for (const s of servers.splice(0)) await s.close();
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  const start = async (clock?: ReturnType<typeof manualClock>) => {
    const dir = mkdtempSync(join(tmpdir(), 'bmx7d-ctl-'));
    dirs.push(dir);
    const path = join(dir, 'sock');
    const errors: string[] = [];
    const server = await startControlServer({
      path,
      backend: backend(),
      serverVersion: 'test',
      ...(clock ? { clock } : {}),
      onSocketError: (e) => errors.push((e as NodeJS.ErrnoException).code ?? e.message),
    });
    servers.push(server);
    return { path, server, errors };
  };
  /** Uncaught exceptions while `fn` runs (an unhandled socket 'error' event is one: it kills bmx7d). */
  const uncaught = async (fn: () => Promise<void>): Promise<unknown[]> => {
    const errors: unknown[] = [];
    const on = (e: unknown) => errors.push(e);
    process.on('uncaughtException', on);
    try {
      await fn();
      await sleep(100);
    } finally {
      process.off('uncaughtException', on);
    }
    return errors;
  };
  const stillServes = async (path: string) => {
    const s = await connect(path);
    const [reply] = await exchange(s, '{"id":1,"op":"version"}\n', 1);
    s.destroy();
    return reply;
  };

  it('a client that gets the busy reply and closes without reading it does not crash the server', async () => {
    const { path, errors } = await start();
    const thrown = await uncaught(async () => {
      const held: net.Socket[] = [];
      for (let i = 0; i < MAX_CLIENTS; i++) held.push(await connect(path));
      for (let round = 0; round < 5; round++) {
        const extra = await connectDeaf(path);
        await sleep(50); // the busy reply is in its socket, unread
        extra.destroy(); // ECONNRESET on the daemon's side
      }
      for (const h of held) h.destroy();
    });
    expect(thrown).toEqual([]);
    expect(errors.every((e) => e === 'ECONNRESET' || e === 'EPIPE')).toBe(true);
    expect(await stillServes(path)).toMatchObject({ ok: true });
  });

  it('clients that leave in the middle of a request, a reply or a log stream do not crash the server', async () => {
    const { path, server } = await start();
    const thrown = await uncaught(async () => {
      for (let i = 0; i < 20; i++) {
        // a big reply to a client that does not read it and leaves
        const deaf = await connectDeaf(path);
        deaf.write('{"id":1,"op":"show","args":{"table":"status"}}\n'.repeat(5));
        await sleep(5);
        deaf.destroy();
        // half a request, then gone
        const half = await connect(path);
        half.write('{"id":2,"op":"sh');
        half.destroy();
        // a log subscriber that leaves while lines are sent to it
        const sub = await connect(path);
        await exchange(sub, '{"id":3,"op":"subscribe","args":{"level":0}}\n', 1);
        for (let n = 0; n < 50; n++) server.log(0, `line ${n} ${'y'.repeat(200)}`);
        sub.destroy();
        for (let n = 0; n < 50; n++) server.log(0, `line ${n}`);
        // a plain-text client that does not wait for its answer
        const legacy = await connect(path);
        legacy.end('show=status #');
        legacy.destroy();
      }
    });
    expect(thrown).toEqual([]);
    expect(await stillServes(path)).toMatchObject({ ok: true });
  });

  it(`${MAX_CLIENTS} idle clients are closed after the idle timeout and cannot lock others out; a log stream is kept`, async () => {
    const clock = manualClock();
    const { path, server } = await start(clock);
    const idle: net.Socket[] = [];
    for (let i = 0; i < MAX_CLIENTS - 2; i++) idle.push(await connect(path));
    // one that stalls in the middle of a request, one that follows the log
    const stalled = await connect(path);
    stalled.write('{"id":1,"op":"vers');
    const follower = await connect(path);
    await exchange(follower, '{"id":"s","op":"subscribe","args":{"level":3}}\n', 1);
    await sleep(50);
    expect(server.clients()).toBe(MAX_CLIENTS);
    // locked out, until the idle timeout fires
    const locked = await connect(path);
    expect(JSON.parse(await readAll(locked))).toMatchObject({ error: { code: 'busy' } });
    const gone = [...idle, stalled].map(closed);
    clock.advance(IDLE_TIMEOUT_MS - 1);
    await sleep(20);
    expect(server.clients()).toBe(MAX_CLIENTS);
    clock.advance(1);
    await Promise.all(gone);
    await sleep(20);
    expect(server.clients()).toBe(1);
    expect(follower.destroyed).toBe(false);
    const ev = exchange(follower, '', 1);
    server.log(3, 'still here');
    expect(await ev).toMatchObject([{ type: 'event', sub: 's', message: 'still here' }]);
    // a client that keeps sending complete requests is not idle
    const busy = await connect(path);
    for (let i = 0; i < 3; i++) {
      clock.advance(IDLE_TIMEOUT_MS - 1000);
      await exchange(busy, `{"id":${i},"op":"version"}\n`, 1);
    }
    expect(busy.destroyed).toBe(false);
    // ... until it stops; after unsubscribing the follower is idle too
    await exchange(follower, '{"id":"u","op":"unsubscribe"}\n', 1);
    const both = [busy, follower].map(closed);
    clock.advance(IDLE_TIMEOUT_MS);
    await Promise.all(both);
    expect(await stillServes(path)).toMatchObject({ ok: true });
  });
});
