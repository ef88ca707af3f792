/**
 * A daemon at its limit of control connections: bmx7d answers a new one with its `busy` reply and
 * closes it, or the connection breaks (EPIPE, ECONNRESET) before any answer. bmx7ctl says so in
 * one line and exits EXIT_BUSY, in both protocols. In-process fake servers stand in for bmx7d.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  busyFrame,
  createRequestDecoder,
  EXIT_BUSY,
  encodeFrame,
  okReply,
  STATUS_TABLE,
} from '@bmx7/control';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { BUSY_LINE, type ControlIo, runControl } from './client.js';

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  const io: ControlIo = {
    out: (l) => out.push(l),
    err: (l) => err.push(l),
    readFile: async () => new Uint8Array(),
  };
  return { out, err, io };
}

describe('bmx7ctl when the daemon is busy', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bmx7ctl-busy-'));
  const path = join(dir, 'sock');
  let server: net.Server | undefined;
  const open = new Set<net.Socket>();
  const listen = async (onConnection: (sock: net.Socket) => void, opts: net.ServerOpts = {}) => {
    server = net.createServer(opts, (sock) => {
      open.add(sock);
      sock.on('close', () => open.delete(sock));
      sock.on('error', () => {});
      onConnection(sock);
    });
    await new Promise<void>((r) => server?.listen(path, r));
  };
  afterEach(async () => {
    for (const s of open) s.destroy();
    await new Promise((r) => (server ? server.close(r) : r(undefined)));
    server = undefined;
  });
  afterEach(() => rmSync(path, { force: true }));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("bmx7d's busy reply: one line, exit 4, in either protocol", async () => {
    // what bmx7d does with a connection over MAX_CLIENTS: the reply, unread request and all
    await listen((sock) => sock.end(busyFrame(), () => sock.destroy()));
    for (const argv of [
      ['--runtime-dir', dir, 'show', 'status'],
      [`runtimeDir=${dir}`, '-c', 'ogmInterval=3000'],
      ['--json', '--runtime-dir', dir, 'show', 'links'],
      ['--legacy', '--runtime-dir', dir, 'show', 'status'],
      ['--legacy', `runtimeDir=${dir}`, '-cd3'],
      ['--runtime-dir', dir, 'log', '3'],
    ]) {
      const c = capture();
      expect(await runControl(argv, c.io), argv.join(' ')).toBe(EXIT_BUSY);
      expect(c.err).toEqual([BUSY_LINE]);
      expect(c.out).toEqual([]);
    }
    expect(BUSY_LINE).toBe('bmx7ctl: the daemon is busy (too many control connections); try again');
    expect(EXIT_BUSY).toBe(4);
  });

  it('a connection the daemon drops unread (ECONNRESET or EPIPE) before any answer is busy too', async () => {
    // the request is never read: closing with it unread resets the connection
    await listen((sock) => setTimeout(() => sock.destroy(), 10), { pauseOnConnect: true });
    for (const argv of [
      ['--runtime-dir', dir, 'show', 'status'],
      ['--legacy', '--runtime-dir', dir, 'show', 'status'],
    ]) {
      const c = capture();
      expect(await runControl(argv, c.io), argv.join(' ')).toBe(EXIT_BUSY);
      expect(c.err).toEqual([BUSY_LINE]);
    }
  });

  it('busy in the middle of a session is not mistaken: only a reply with code busy counts', async () => {
    await listen((sock) => {
      const dec = createRequestDecoder();
      sock.on('data', (chunk) => {
        for (const d of dec.push(new Uint8Array(chunk))) {
          if (d.kind !== 'request') continue;
          const r = d.request;
          if (r.op === 'hello') sock.write(encodeFrame(okReply(r.id, { protocol: 1 })));
          else
            sock.write(
              encodeFrame(
                okReply(r.id, {
                  table: 'status',
                  title: 'STATUS',
                  columns: STATUS_TABLE.columns,
                  rows: [{ shortId: '0C476241', name: 'n1' }],
                }),
              ),
            );
        }
      });
    });
    const c = capture();
    expect(await runControl(['--runtime-dir', dir, 'show', 'status'], c.io)).toBe(0);
    expect(c.out.join('\n')).toMatch(/^STATUS:\n.*\n0C476241 n1 /);
    expect(c.err).toEqual([]);
  });
});
