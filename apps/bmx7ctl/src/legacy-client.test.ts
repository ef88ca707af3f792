/**
 * bmx7ctl against an in-process stand-in for the reference daemon's control socket, which behaves
 * as the reference's control.c does (docs/protocol.md §5.1): one read of at most 2000 bytes per
 * request; a request it cannot parse (a JSON frame) closes the connection without a byte; an
 * answer ends with "$"; a refusal is its error lines and a close without "$"; a `-d3` log stream
 * lasts until the client closes its side. Its answers are the reference's own bytes.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MAX_LEGACY_REQUEST_BYTES } from '@bmx7/control';
import { fixture } from '@bmx7/testenv/env';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type ControlIo, runControl } from './client.js';

/** A section of the reference's captured tables (fixtures/bmx7-ref/show-tables.txt), as it sent it. */
function capturedTable(heading: string): string {
  const text = readFileSync(fixture('show-tables.txt'), 'utf8');
  const at = text.indexOf(`######## ${heading}\n`);
  if (at < 0) throw new Error(`no ${heading} in show-tables.txt`);
  const body = text.slice(at + heading.length + 10);
  const end = body.indexOf('########');
  return end < 0 ? body : body.slice(0, end);
}

const STATUS = capturedTable('show=status (default relevance)');
const ORIGINATORS = capturedTable('show=originators (default relevance)');
// what the reference wrote before closing, for a dev it does not have and a table it does not know
const DEV_REFUSED = [
  'ERROR opt_dev: Interface does not exist!',
  'ERROR : --dev  nosuch #  Failed ! ( diff:1 ad:0 val:0 min:0 max:0 def:0  OPT_ADJUST 5 1 6 )',
  'ERROR apply_stream_opts: invalid argument: nosuch',
];
const SHOW_REFUSED = [
  'requested <VAL> must be one of: contents cpu credits interfaces keys links originators references status trusted tunnels ',
  'ERROR : --show  nosuch #  Failed ! ( diff:0 ad:0 val:0 min:0 max:0 def:0  OPT_CHECK 4 1 6 )',
  'ERROR apply_stream_opts: invalid argument: nosuch',
];
// a log stream: its ERROR lines are log lines too
const LOG = [
  '[7585    10038    41] WARN  dev_check: detected valid but disabled dev=eth1 !',
  '[7585   426708   130] ERROR validate_char_string: stream len=69 pos=68 contains char=10',
];

interface Seen {
  /** Each connection's request, as the one read got it. */
  requests: string[];
  /** Connections whose client closed its side before the answer ended. */
  halfClosedEarly: number;
}

function startReference(path: string, seen: Seen): net.Server {
  const server = net.createServer((sock) => {
    let answered = false;
    let streaming = false;
    let ended = false;
    sock.on('error', () => {});
    sock.once('data', (chunk) => {
      const request = chunk.toString('latin1');
      seen.requests.push(request);
      if (chunk.length >= MAX_LEGACY_REQUEST_BYTES || request.trimStart().startsWith('{')) {
        sock.destroy(); // invalid ctrl stream: closed, nothing written
        return;
      }
      // the reference writes its answer in several writes; each line arrives on its own here
      const send = (lines: readonly string[], end: boolean) => {
        for (const l of lines) sock.write(`${l}\n`);
        answered = true;
        if (end) sock.end('$');
        else sock.end();
      };
      switch (request) {
        case 'show=status #':
        case 'status #':
          sock.write(STATUS);
          answered = true;
          sock.end('$');
          break;
        case 'show=originators #':
          sock.write(ORIGINATORS);
          answered = true;
          sock.end('$');
          break;
        case 'show=status show=originators #':
          sock.write(STATUS);
          sock.write(ORIGINATORS);
          answered = true;
          sock.end('$');
          break;
        case 'ogmInterval=3000 #':
        case 'ogmInterval=- #':
          send([], true);
          break;
        case 'dev=-nosuch #':
          send(DEV_REFUSED, false);
          break;
        case 'show=nosuch #':
          send(SHOW_REFUSED, false);
          break;
        case '-d3 #':
          // log lines follow later; a client that closed its side is gone by then
          streaming = true;
          setTimeout(() => {
            if (!ended) for (const l of LOG) sock.write(`${l}\n`);
          }, 20);
          break;
        default:
          send([`ERROR apply_stream_opts: invalid argument: ${request}`], false);
      }
    });
    // the reference reads again: 0 bytes end the connection (a log stream too)
    sock.on('end', () => {
      ended = true;
      if (!answered && !streaming) seen.halfClosedEarly++;
      sock.end();
    });
  });
  return server.listen(path);
}

function capture(extra: Partial<ControlIo> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const io: ControlIo = {
    out: (l) => out.push(l),
    err: (l) => err.push(l),
    readFile: async () => new Uint8Array(),
    ...extra,
  };
  return { out, err, io };
}

const lines = (text: string) => text.replace(/\n$/, '').split('\n');

describe('bmx7ctl and a reference daemon (plain-text protocol)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bmx7ctl-ref-'));
  const seen: Seen = { requests: [], halfClosedEarly: 0 };
  let server: net.Server;
  beforeAll(async () => {
    server = startReference(join(dir, 'sock'), seen);
    await new Promise((r) => server.once('listening', r));
  });
  beforeEach(() => {
    seen.requests = [];
    seen.halfClosedEarly = 0;
  });
  afterAll(() => {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const rd = `runtimeDir=${dir}`;

  it('detects the reference (no answer to JSON) and prints its table as it sent it', async () => {
    const c = capture();
    expect(await runControl([rd, '-c', 'show=originators'], c.io)).toBe(0);
    expect(c.out).toEqual(lines(ORIGINATORS));
    expect(c.err).toEqual([]);
    expect(seen.requests).toHaveLength(2);
    expect(JSON.parse(seen.requests[0] as string)).toMatchObject({ op: 'hello' });
    // then the bytes the reference's own client writes
    expect(seen.requests[1]).toBe('show=originators #');
    expect(seen.halfClosedEarly).toBe(0);
  });

  it('--legacy speaks plain text at once; plain subcommands become the reference options', async () => {
    let c = capture();
    expect(await runControl(['--legacy', '--runtime-dir', dir, 'show', 'status'], c.io)).toBe(0);
    expect(c.out).toEqual(lines(STATUS));
    expect(seen.requests).toEqual(['show=status #']);
    c = capture();
    expect(await runControl(['--legacy', rd, '-c', 'show=status', 'show=originators'], c.io)).toBe(0);
    expect(c.out).toEqual([...lines(STATUS), ...lines(ORIGINATORS)]);
  });

  it('-c changes: "$" alone is success, printing nothing', async () => {
    for (const change of ['ogmInterval=3000', 'ogmInterval=-']) {
      const c = capture();
      expect(await runControl(['--legacy', rd, '-c', change], c.io)).toBe(0);
      expect(c.out).toEqual([]);
      expect(c.err).toEqual([]);
    }
    const c = capture();
    expect(await runControl(['--runtime-dir', dir, 'set', 'ogmInterval=3000'], c.io)).toBe(0);
    expect(seen.requests.at(-1)).toBe('ogmInterval=3000 #');
  });

  it('a refusal (closed without "$") exits 1 with the reference reasons on stderr', async () => {
    let c = capture();
    expect(await runControl([rd, '-c', 'dev=-nosuch'], c.io)).toBe(1);
    expect(c.out).toEqual([]);
    expect(c.err).toEqual(DEV_REFUSED);
    c = capture();
    expect(await runControl(['--legacy', '--runtime-dir', dir, 'show', 'nosuch'], c.io)).toBe(1);
    expect(c.err).toEqual(SHOW_REFUSED);
  });

  it('-cd3 streams the log line by line until interrupted, keeping its side open', async () => {
    let interrupt: () => void = () => {};
    const c = capture({ interrupted: new Promise<void>((r) => (interrupt = r)) });
    const got: string[] = [];
    c.io.out = (l) => {
      got.push(l);
      if (got.length === LOG.length) interrupt();
    };
    expect(await runControl([rd, '-cd3'], c.io)).toBe(0);
    expect(got).toEqual(LOG);
    expect(seen.requests.at(-1)).toBe('-d3 #');
  });

  it('usage errors (exit 2) for what the reference cannot answer, before a request is sent', async () => {
    let c = capture();
    expect(await runControl(['--json', '--runtime-dir', dir, 'show', 'status'], c.io)).toBe(2);
    expect(c.err).toEqual(['bmx7ctl: --json needs bmx7d: the reference daemon answers in text only']);
    c = capture();
    expect(await runControl(['--legacy', '--runtime-dir', dir, 'get', 'ogmInterval'], c.io)).toBe(2);
    expect(c.err[0]).toMatch(/^bmx7ctl: get: the reference daemon has no such request/);
    c = capture();
    const many = Array.from({ length: MAX_LEGACY_REQUEST_BYTES / 10 }, () => 'show=status');
    expect(await runControl(['--legacy', rd, '-c', ...many], c.io)).toBe(2);
    expect(c.err[0]).toMatch(/the reference daemon reads at most 1999/);
    expect(seen.requests.filter((r) => !r.startsWith('{'))).toEqual([]);
  });

  it('-l detects once and then repeats in plain text', async () => {
    let interrupt: () => void = () => {};
    let clears = 0;
    const c = capture({
      interrupted: new Promise<void>((r) => (interrupt = r)),
      write: () => {
        if (++clears === 3) interrupt();
      },
    });
    expect(await runControl([rd, 'loopInterval=100', '-lc', 'status'], c.io)).toBe(0);
    expect(seen.requests.filter((r) => r.startsWith('{'))).toHaveLength(1);
    expect(seen.requests.filter((r) => r === 'status #').length).toBeGreaterThanOrEqual(2);
  });

  it("without a runtime directory: bmx7d's, else the reference's where only its socket exists", async () => {
    const empty = join(dir, 'none');
    mkdirSync(empty, { recursive: true });
    let c = capture();
    expect(await runControl(['show', 'status'], c.io, { bmx7d: empty, reference: dir })).toBe(0);
    expect(c.out).toEqual(lines(STATUS));
    c = capture();
    expect(await runControl(['--legacy', 'show', 'status'], c.io, { bmx7d: empty, reference: empty })).toBe(
      3,
    );
    expect(c.err).toEqual([`bmx7ctl: no daemon running (no control socket at ${join(empty, 'sock')})`]);
  });
});
