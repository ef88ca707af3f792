import { mkdtempSync, rmSync, statSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MAX_CLIENTS, MAX_REQUEST_BYTES, okReply } from '@bmx7/control';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ControlServer, startControlServer } from './control-server.js';

const connect = (path: string) =>
  new Promise<net.Socket>((resolve, reject) => {
    const s = net.createConnection(path, () => resolve(s));
    s.once('error', reject);
  });

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

describe('control socket server', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bmx7d-ctl-'));
  const path = join(dir, 'sock');
  let server: ControlServer;
  beforeAll(async () => {
    server = await startControlServer(path, {
      request: (req, conn) => {
        if (req.op === 'subscribe') {
          conn.subscribe(req.id);
          setTimeout(() => conn.event({ event: 'log', level: 3, message: 'hello' }), 10);
        }
        return okReply(req.id, { op: req.op });
      },
      legacy: (words) => `got ${words.join(' ')}\n`,
    });
  });
  afterAll(() => {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('is a socket of mode 0600', () => {
    const st = statSync(path);
    expect(st.isSocket()).toBe(true);
    expect(st.mode & 0o777).toBe(0o600);
  });

  it('answers in order, keeps the connection after bad frames, bounds the request size, streams events', async () => {
    const s = await connect(path);
    const big = `{"id":1,"op":"version","args":{"x":"${'x'.repeat(MAX_REQUEST_BYTES)}"}}\n`;
    const r = await exchange(
      s,
      `{"id":1,"op":"version"}\nnope\n${big}{"id":2,"op":"subscribe","args":{"level":3}}\n`,
      5,
    );
    expect(r.map((x) => x.ok ?? x.event)).toEqual([true, false, false, true, 'log']);
    expect((r[2] as { error: { code: string } }).error.code).toBe('frame-too-large');
    expect(r[4]).toMatchObject({ type: 'event', sub: 2, message: 'hello' });
    s.destroy();
  });

  it('answers the reference plain-text protocol and closes', async () => {
    const s = await connect(path);
    const text = await new Promise<string>((resolve) => {
      let buf = '';
      s.on('data', (d) => {
        buf += d;
      });
      s.on('end', () => resolve(buf));
      s.write('show=status #');
    });
    expect(text).toBe('got show=status\n$');
  });

  it(`serves at most ${MAX_CLIENTS} clients and tells the next one it is busy`, async () => {
    const held: net.Socket[] = [];
    for (let i = 0; i < MAX_CLIENTS; i++) held.push(await connect(path));
    await new Promise((r) => setTimeout(r, 50));
    expect(server.clients()).toBe(MAX_CLIENTS);
    const extra = await connect(path);
    const reply = await new Promise<string>((resolve) => {
      let buf = '';
      extra.on('data', (d) => {
        buf += d;
      });
      extra.on('end', () => resolve(buf));
    });
    expect(JSON.parse(reply)).toMatchObject({ ok: false, error: { code: 'busy' } });
    for (const h of held) h.destroy();
  });
});
