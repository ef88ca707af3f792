import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type ControlRequest,
  createRequestDecoder,
  encodeFrame,
  errorReply,
  ORIGINATORS_TABLE,
  okReply,
} from '@bmx7/control';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runControl } from './client.js';

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    io: {
      out: (l: string) => out.push(l),
      err: (l: string) => err.push(l),
      readFile: async () => new Uint8Array(),
    },
  };
}

describe('bmx7ctl control client', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bmx7ctl-'));
  const seen: ControlRequest[] = [];
  let server: net.Server;
  beforeAll(async () => {
    server = net.createServer((sock) => {
      const dec = createRequestDecoder();
      sock.on('data', (c) => {
        for (const d of dec.push(new Uint8Array(c))) {
          if (d.kind === 'error') {
            sock.write(encodeFrame(d.reply));
            continue;
          }
          const r = d.request;
          seen.push(r);
          if (r.op === 'show' && r.args.table === 'originators')
            sock.write(
              encodeFrame(
                okReply(r.id, {
                  table: 'originators',
                  title: 'ORIGINATORS',
                  columns: ORIGINATORS_TABLE.columns,
                  rows: [
                    {
                      shortId: '0C476241',
                      name: 'ref-n1',
                      primaryIp: 'fd70::1',
                      metric: 156_000_000,
                      hops: 1,
                    },
                  ],
                }),
              ),
            );
          else if (r.op === 'set')
            sock.write(encodeFrame(errorReply(r.id, 'bad-option', 'dev=-eth9: no such dev', 'dev')));
          else
            sock.write(
              encodeFrame(errorReply(r.id, 'unknown-table', `unknown table ${JSON.stringify(r.args)}`)),
            );
        }
      });
    });
    await new Promise<void>((r) => server.listen(join(dir, 'sock'), r));
  });
  afterAll(() => {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reference syntax and plain subcommands give the same request and the reference table', async () => {
    for (const argv of [
      [`runtimeDir=${dir}`, '-c', 'show=originators'],
      ['--runtime-dir', dir, 'show', 'originators'],
    ]) {
      const c = capture();
      expect(await runControl(argv, c.io)).toBe(0);
      expect(c.out.join('\n')).toMatch(/^ORIGINATORS:\nshortId +name +as .*\n0C476241 ref-n1 +--- /);
      expect(c.out.join('\n')).toContain(' 156M ');
      expect(c.err).toEqual([]);
    }
    expect(seen.at(-1)).toMatchObject({ op: 'show', args: { table: 'originators' } });
  });

  it('--json prints the rows keyed by column', async () => {
    const c = capture();
    expect(await runControl(['--json', '--runtime-dir', dir, 'show', 'originators'], c.io)).toBe(0);
    expect(JSON.parse(c.out.join('\n'))).toMatchObject({
      table: 'originators',
      rows: [{ name: 'ref-n1', metric: 156000000 }],
    });
  });

  it('exit 1 with one line when the daemon refuses, 2 for usage, 3 without a daemon', async () => {
    let c = capture();
    expect(await runControl([`runtimeDir=${dir}`, '-c', 'dev=-eth9'], c.io)).toBe(1);
    expect(c.err).toEqual(['bmx7ctl: dev=-eth9: no such dev']);
    c = capture();
    expect(await runControl(['show'], c.io)).toBe(2);
    expect(c.err).toHaveLength(1);
    c = capture();
    expect(await runControl(['-c', 'ogmInterval=1'], c.io)).toBe(2);
    expect(c.err[0]).toMatch(/ogmInterval/);
    c = capture();
    expect(await runControl(['--runtime-dir', join(dir, 'none'), 'show', 'status'], c.io)).toBe(3);
    expect(c.err).toEqual([`bmx7ctl: no daemon running (no control socket at ${join(dir, 'none', 'sock')})`]);
  });
});
