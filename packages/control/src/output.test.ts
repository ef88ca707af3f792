import { describe, expect, it } from 'vitest';
import { createConnectionDecoder } from './connection.js';
import { requestsFromWords } from './ctl.js';
import { createReferenceOptionTable } from './option-data.js';
import { formatError, formatEvent, formatResultJson, formatResultText, formatVersion } from './output.js';
import type { TableResult } from './protocol.js';
import { LINKS_TABLE } from './tables.js';

const enc = new TextEncoder();
const table = createReferenceOptionTable();

const links: TableResult = {
  table: 'links',
  title: 'LINKS',
  columns: LINKS_TABLE.columns,
  rows: [{ shortId: 'C6792132', name: 'ref-n2', rq: 100, tq: 100, txRate: 1_000_000_000, wTxRate: 0 }],
};

describe('output', () => {
  it('renders a show reply as the reference table, or JSON rows', () => {
    const text = formatResultText({ op: 'show', args: { table: 'links' } }, links);
    expect(text.split('\n')[0]).toBe('LINKS:');
    expect(text).toContain('C6792132 ref-n2 ');
    expect(text).toContain(' 1000M ');
    expect(formatResultText({ op: 'show', args: { table: 'links', relevance: 0 } }, links)).toContain(
      'wSignal',
    );
    expect(formatResultJson({ op: 'show', args: { table: 'links' } }, links)).toMatchObject({
      table: 'links',
      rows: [{ shortId: 'C6792132', txRate: 1_000_000_000 }],
    });
    const json = formatResultJson({ op: 'show', args: { table: 'links' } }, links) as {
      rows: Record<string, unknown>[];
    };
    expect(json.rows[0]?.dev).toBeNull();
    expect(Object.hasOwn(json.rows[0] ?? {}, 'nodeId')).toBe(false);
  });

  it('renders the other replies', () => {
    expect(
      formatResultText({ op: 'parameters', args: {} }, { parameters: [{ name: 'dev', value: 'eth1' }] }),
    ).toContain(' dev ');
    expect(
      formatResultText({ op: 'set', args: { argv: ['dev=eth2'] } }, { applied: [['dev=eth2']], test: false }),
    ).toBe('');
    expect(
      formatResultText(
        { op: 'set', args: { argv: ['dev=eth2'], test: true } },
        { applied: [['dev=eth2']], test: true },
      ),
    ).toBe('test: dev=eth2: ok\n');
    expect(
      formatVersion({
        version: '0.1.0',
        compatibility: 21,
        hostname: 'n1',
        nodeId: 'AB',
        primaryIp: 'fd70::1',
      }),
    ).toBe(
      'version=0.1.0 compatibility=21 revision=--- id=AB nodeKey=--- linkKeys=--- descSqn=--- ip=fd70::1 hostname=n1\n',
    );
    expect(formatEvent({ type: 'event', sub: 1, event: 'log', level: 3, message: 'dev eth2 up' })).toBe(
      'dev eth2 up\n',
    );
    expect(formatError({ code: 'bad-option', message: 'ogmInterval: 1 is out of range\nx' })).toBe(
      'bmx7ctl: ogmInterval: 1 is out of range x\n',
    );
  });
});

describe('connection decoder', () => {
  it('speaks JSON when the first byte is {', () => {
    const c = createConnectionDecoder();
    expect(c.push(enc.encode('  '))).toEqual([]);
    expect(c.push(enc.encode('{"id":1,"op":"tables"}\nnope\n'))).toEqual([
      { kind: 'request', request: { id: 1, op: 'tables', args: {} } },
      {
        kind: 'error',
        reply: {
          type: 'reply',
          id: null,
          ok: false,
          error: { code: 'bad-frame', message: 'frame is not JSON' },
        },
      },
    ]);
    expect(c.protocol()).toBe('json');
    expect(c.end()).toEqual([]);
  });

  it('speaks the reference plain text otherwise, and the words map to the same requests', () => {
    const c = createConnectionDecoder();
    const ev = c.push(enc.encode('dev=eth2 show=links /r=0 #'));
    expect(c.protocol()).toBe('legacy');
    expect(ev).toEqual([{ kind: 'legacy', words: ['dev=eth2', 'show=links', '/r=0'] }]);
    const first = ev[0];
    if (first?.kind !== 'legacy') return;
    expect(requestsFromWords(first.words, table)).toEqual({
      ok: true,
      requests: [
        { op: 'set', args: { argv: ['dev=eth2'] } },
        { op: 'show', args: { table: 'links', relevance: 0 } },
      ],
    });
    expect(requestsFromWords(['ogmInterval=1'], table)).toEqual({
      ok: false,
      message: 'ogmInterval: 1 is out of range 200..60000',
    });
  });
});
