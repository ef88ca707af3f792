import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  createLegacyReplyDecoder,
  createLegacyRequestDecoder,
  encodeLegacyReply,
  encodeLegacyRequest,
  MAX_LEGACY_REQUEST_BYTES,
} from './legacy.js';
import {
  type ControlRequest,
  createLineDecoder,
  createRequestDecoder,
  createServerFrameDecoder,
  decodeRequest,
  decodeServerFrame,
  detectProtocol,
  encodeFrame,
  errorReply,
  MAX_REQUEST_BYTES,
  okReply,
} from './protocol.js';

const enc = new TextEncoder();
const bytes = (s: string) => enc.encode(s);

describe('line framing', () => {
  it('splits lines across arbitrary chunk boundaries', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc
            .string({ unit: 'grapheme', maxLength: 40 })
            .map((s) => s.replaceAll('\n', ' ').replaceAll('\r', ' ')),
        ),
        fc.array(fc.nat(50)),
        (lines, cuts) => {
          const all = bytes(lines.map((l) => `${l}\n`).join(''));
          const d = createLineDecoder(1024);
          const got: string[] = [];
          let at = 0;
          for (const c of cuts) {
            const ev = d.push(all.slice(at, at + c));
            at += c;
            for (const e of ev) if (e.ok) got.push(e.line);
          }
          for (const e of d.push(all.slice(at))) if (e.ok) got.push(e.line);
          expect(got).toEqual(lines);
          expect(d.buffered()).toBe(0);
        },
      ),
    );
  });

  it('reports a too-long line once, skips it, and goes on', () => {
    const d = createLineDecoder(16);
    const ev = [
      ...d.push(bytes('short\n')),
      ...d.push(bytes('x'.repeat(10))),
      ...d.push(bytes('y'.repeat(10))),
      ...d.push(bytes('z'.repeat(100))),
      ...d.push(bytes('\nafter\n')),
      ...d.push(bytes(`${'a'.repeat(15)}\n${'b'.repeat(16)}\n`)),
    ];
    expect(ev).toEqual([
      { ok: true, line: 'short' },
      { ok: false, code: 'frame-too-large', message: 'frame longer than 16 bytes' },
      { ok: true, line: 'after' },
      { ok: true, line: 'a'.repeat(15) },
      { ok: false, code: 'frame-too-large', message: 'frame longer than 16 bytes' },
    ]);
    expect(d.buffered()).toBe(0);
  });

  it('reports bad UTF-8 and strips a CR before the newline', () => {
    const d = createLineDecoder();
    expect(d.push(new Uint8Array([0xff, 0xfe, 0x0a, 0x61, 0x0d, 0x0a]))).toEqual([
      { ok: false, code: 'bad-encoding', message: 'frame is not UTF-8' },
      { ok: true, line: 'a' },
    ]);
  });

  it('never throws and never holds more than the limit, whatever arrives', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 20 }), (chunks) => {
        const d = createRequestDecoder(256);
        for (const c of chunks) {
          d.push(c);
          expect(d.buffered()).toBeLessThan(256);
        }
      }),
    );
  });
});

describe('requests', () => {
  const good: [string, ControlRequest][] = [
    ['{"id":1,"op":"version"}', { id: 1, op: 'version', args: {} }],
    [
      '{"id":"a","op":"show","args":{"table":"originators","relevance":0}}',
      { id: 'a', op: 'show', args: { table: 'originators', relevance: 0 } },
    ],
    [
      '{"id":2,"op":"set","args":{"argv":["dev=eth2","/channel=6"]}}',
      { id: 2, op: 'set', args: { argv: ['dev=eth2', '/channel=6'] } },
    ],
    [
      '{"id":3,"op":"set","args":{"argv":["dev=-eth2"],"test":true}}',
      { id: 3, op: 'set', args: { argv: ['dev=-eth2'], test: true } },
    ],
    ['{"id":4,"op":"subscribe","args":{"level":3}}', { id: 4, op: 'subscribe', args: { level: 3 } }],
    [
      '{"id":5,"op":"hello","args":{"protocol":1,"client":"bmx7ctl","extra":1}}',
      { id: 5, op: 'hello', args: { protocol: 1, client: 'bmx7ctl' } },
    ],
    [
      '{"id":6,"op":"get","args":{"name":"ogmInterval"}}',
      { id: 6, op: 'get', args: { name: 'ogmInterval' } },
    ],
    [
      '{"id":7,"op":"descriptions","args":{"type":16,"name":"n1"}}',
      { id: 7, op: 'descriptions', args: { type: 16, name: 'n1' } },
    ],
    [
      '{"id":8,"op":"help","args":{"verbose":true,"relevance":0}}',
      { id: 8, op: 'help', args: { verbose: true, relevance: 0 } },
    ],
    ['{"id":9,"op":"parameters"}', { id: 9, op: 'parameters', args: {} }],
  ];
  it.each(good)('%s', (line, want) => {
    expect(decodeRequest(line)).toEqual({ ok: true, request: want });
  });

  const badCases: [string, string | number | null, string][] = [
    ['not json', null, 'bad-frame'],
    ['[1,2]', null, 'bad-frame'],
    ['{"op":"version"}', null, 'bad-frame'],
    ['{"id":{},"op":"version"}', null, 'bad-frame'],
    ['{"id":1.5,"op":"version"}', null, 'bad-frame'],
    [`{"id":"${'x'.repeat(200)}","op":"version"}`, null, 'bad-frame'],
    ['{"id":1}', 1, 'bad-frame'],
    ['{"id":1,"op":"rm -rf"}', 1, 'unknown-op'],
    ['{"id":1,"op":"toString"}', 1, 'unknown-op'],
    ['{"id":1,"op":"show"}', 1, 'bad-args'],
    ['{"id":1,"op":"show","args":[]}', 1, 'bad-args'],
    ['{"id":1,"op":"show","args":{"table":"../x"}}', 1, 'bad-args'],
    ['{"id":1,"op":"show","args":{"table":"links","relevance":3}}', 1, 'bad-args'],
    ['{"id":1,"op":"set","args":{"argv":[]}}', 1, 'bad-args'],
    ['{"id":1,"op":"set","args":{"argv":["a b"]}}', 1, 'bad-args'],
    ['{"id":1,"op":"set","args":{"argv":[1]}}', 1, 'bad-args'],
    [`{"id":1,"op":"set","args":{"argv":${JSON.stringify(Array(300).fill('x'))}}}`, 1, 'bad-args'],
    ['{"id":1,"op":"subscribe","args":{"level":13}}', 1, 'bad-args'],
    ['{"id":1,"op":"descriptions","args":{"type":256}}', 1, 'bad-args'],
    ['{"id":"q","op":"get","args":{}}', 'q', 'bad-args'],
  ];
  it.each(badCases)('%s → %s', (line, id, code) => {
    const r = decodeRequest(line);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.reply).toMatchObject({ type: 'reply', id, ok: false, error: { code } });
    expect(r.reply.error.message.length).toBeGreaterThan(0);
  });

  it('1,000 malformed requests on one connection each get exactly one error reply, then a good one is served', () => {
    const garbage = fc.sample(
      fc.oneof(
        fc.string({ maxLength: 200 }),
        fc.json({ maxDepth: 3 }),
        fc
          .record({ id: fc.integer(), op: fc.string({ maxLength: 10 }), args: fc.anything() })
          .map((o) => JSON.stringify(o)),
      ),
      { numRuns: 5000, seed: 42 },
    );
    const lines: string[] = [];
    for (const g of garbage) {
      const line = g.replaceAll('\n', ' ').replaceAll('\r', ' ');
      if (line.trim().length === 0 || decodeRequest(line).ok) continue;
      lines.push(line);
      if (lines.length === 1000) break;
    }
    expect(lines).toHaveLength(1000);
    const d = createRequestDecoder();
    const out = [
      ...d.push(bytes(lines.map((l) => `${l}\n`).join(''))),
      ...d.push(bytes('{"id":"ok","op":"version"}\n')),
    ];
    expect(out).toHaveLength(1001);
    expect(out.slice(0, 1000).every((x) => x.kind === 'error' && x.reply.ok === false)).toBe(true);
    expect(out[1000]).toEqual({ kind: 'request', request: { id: 'ok', op: 'version', args: {} } });
  });

  it('random frames never throw and yield one item per non-blank line', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.string({ maxLength: 80 }).map((s) => s.replaceAll('\n', '').replaceAll('\r', '')),
          { maxLength: 30 },
        ),
        (lines) => {
          const d = createRequestDecoder();
          const out = d.push(bytes(lines.map((l) => `${l}\n`).join('')));
          expect(out).toHaveLength(lines.filter((l) => l.trim().length > 0).length);
        },
      ),
    );
  });

  it('an oversized request is answered and the connection stays usable', () => {
    const d = createRequestDecoder();
    const big = `{"id":1,"op":"set","args":{"argv":["${'x'.repeat(MAX_REQUEST_BYTES)}"]}}\n`;
    const out = [...d.push(bytes(big)), ...d.push(bytes('{"id":2,"op":"tables"}\n'))];
    expect(out.map((o) => (o.kind === 'error' ? o.reply.error.code : o.request.op))).toEqual([
      'frame-too-large',
      'tables',
    ]);
  });
});

describe('server frames', () => {
  it('round-trip replies and events, reject garbage without throwing', () => {
    const frames = [
      okReply(1, { tables: ['status'] }),
      errorReply(null, 'bad-frame', 'x'),
      errorReply('a', 'bad-option', 'ogmInterval: 1 is out of range 200..60000', 'ogmInterval'),
      { type: 'event' as const, sub: 4, event: 'log' as const, level: 3, message: 'dev eth2 up', time: 12 },
    ];
    for (const f of frames) {
      const line = encodeFrame(f);
      expect(line.endsWith('\n')).toBe(true);
      expect(line.slice(0, -1)).not.toContain('\n');
      expect(decodeServerFrame(line.slice(0, -1))).toEqual({ ok: true, frame: f });
    }
    fc.assert(fc.property(fc.string(), (s) => void decodeServerFrame(s)));
    fc.assert(fc.property(fc.json(), (s) => void decodeServerFrame(s)));
    expect(decodeServerFrame('{"type":"reply","ok":true,"result":1}').ok).toBe(false);
  });

  it('error messages are bounded', () => {
    expect(errorReply(1, 'internal', 'x'.repeat(10_000)).error.message.length).toBeLessThanOrEqual(512);
  });

  it('detects the protocol from the first bytes', () => {
    expect(detectProtocol(bytes('  {"id":1}'))).toBe('json');
    expect(detectProtocol(bytes('show=links #'))).toBe('legacy');
    expect(detectProtocol(bytes(' \n'))).toBeUndefined();
  });
});

describe('the reference plain-text protocol', () => {
  it('decodes a request ended by " #", across chunks', () => {
    const d = createLegacyRequestDecoder();
    expect(d.push(bytes('show=origi'))).toEqual([]);
    expect(d.push(bytes('nators /r=0 #'))).toEqual([
      { kind: 'request', words: ['show=originators', '/r=0'] },
    ]);
    expect(d.push(bytes('more'))).toEqual([]);
  });
  it('takes a request without "#" at end of stream, bounds the size', () => {
    const d = createLegacyRequestDecoder();
    d.push(bytes('status'));
    expect(d.end()).toEqual([{ kind: 'request', words: ['status'] }]);
    const big = createLegacyRequestDecoder();
    expect(big.push(bytes('x'.repeat(MAX_LEGACY_REQUEST_BYTES + 1)))[0]?.kind).toBe('error');
  });
  it('encodes as the reference client and daemon do', () => {
    expect(encodeLegacyRequest(['-d3'])).toBe('-d3 #');
    expect(encodeLegacyReply('STATUS:\n')).toBe('STATUS:\n$');
    expect(encodeLegacyReply('a$b')).toBe('a?b$');
    const r = createLegacyReplyDecoder();
    expect(r.push(bytes('STAT'))).toEqual({ text: 'STAT', done: false });
    expect(r.push(bytes('US:\n$junk'))).toEqual({ text: 'US:\n', done: true });
  });
  it('never throws on random bytes', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 500 }), { maxLength: 10 }), (chunks) => {
        const d = createLegacyRequestDecoder();
        const r = createLegacyReplyDecoder();
        for (const c of chunks) {
          d.push(c);
          r.push(c);
        }
        d.end();
      }),
    );
  });
});

describe('client frame decoder', () => {
  it('decodes replies and events split anywhere, reports garbage', () => {
    const d = createServerFrameDecoder();
    const text = `${encodeFrame(okReply(1, { level: 3 }))}garbage\n${encodeFrame({ type: 'event', sub: 1, event: 'log', level: 3, message: 'x' })}`;
    const all = bytes(text);
    const out = [...d.push(all.slice(0, 7)), ...d.push(all.slice(7, 40)), ...d.push(all.slice(40))];
    expect(out.map((o) => o.ok)).toEqual([true, false, true]);
  });
});
