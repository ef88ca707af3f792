import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  createLegacyAnswerReader,
  isLegacyErrorLine,
  LEGACY_END,
  legacyOutcome,
  legacyRequest,
  MAX_LEGACY_REQUEST_BYTES,
} from './legacy.js';
import { encodeFrame, errorReply } from './protocol.js';

const bytes = (s: string) => new TextEncoder().encode(s);

// What a reference daemon wrote on its socket (docs/protocol.md §5.1), byte for byte.
const STATUS =
  'STATUS:\nshortId  name nodeKey cv revision primaryIp                               tun6Address tun4Address uptime     cpu txQ  nbs rts nodes \n15154C9C refx RSA2048 21 0000000  fd70:1515:4c9c:4994:588e:adba:1b6c:e19b ---         ---         0:00:00:10 0.1 0/50 0   0   1/1   \n$';
const OGM_REFUSED =
  'ERROR : --ogmInterval value 1 is invalid! Must be 200 <= <value> <= 60000 !\nERROR : --ogmInterval  1 #  Failed ! ( diff:0 ad:0 val:3000 min:200 max:60000 def:6000  OPT_PATCH 2 1 1 )\nERROR apply_stream_opts: invalid argument: 1\n';
const SHOW_REFUSED =
  'requested <VAL> must be one of: contents cpu credits interfaces keys links originators references status trusted tunnels \nERROR : --show  nosuch #  Failed ! ( diff:0 ad:0 val:0 min:0 max:0 def:0  OPT_CHECK 4 1 6 )\nERROR apply_stream_opts: invalid argument: nosuch\n';

function readAll(chunks: readonly Uint8Array[], closed = true) {
  const r = createLegacyAnswerReader();
  const lines: string[] = [];
  let complete = false;
  for (const c of chunks) {
    const p = r.push(c);
    lines.push(...p.lines);
    complete ||= p.complete;
  }
  if (closed) lines.push(...r.end().lines);
  return { lines, complete };
}

describe('plain-text requests as the reference client writes them', () => {
  it('the words and " #"', () => {
    expect(legacyRequest(['show=status', 'show=originators'])).toEqual({
      ok: true,
      text: 'show=status show=originators #',
    });
    expect(legacyRequest(['-d3'])).toEqual({ ok: true, text: '-d3 #' });
  });
  it('refuses what the reference daemon could not read', () => {
    expect(legacyRequest([]).ok).toBe(false);
    expect(legacyRequest(['show=status', '#', 'dev=x']).ok).toBe(false);
    expect(legacyRequest(['a b']).ok).toBe(false);
    expect(legacyRequest(['hostname=a$b']).ok).toBe(false);
    // one read of MAX_LEGACY_REQUEST_BYTES; a request that fills it is dropped
    const fits = 'x'.repeat(MAX_LEGACY_REQUEST_BYTES - 3);
    expect(legacyRequest([fits])).toEqual({ ok: true, text: `${fits} #` });
    expect(legacyRequest([`${fits}x`]).ok).toBe(false);
  });
});

describe('plain-text answers', () => {
  it('a table up to "$", split anywhere, later bytes ignored', () => {
    const all = bytes(`${STATUS}junk`);
    for (let cut = 0; cut <= all.length; cut++) {
      const { lines, complete } = readAll([all.slice(0, cut), all.slice(cut)]);
      expect(complete).toBe(true);
      expect(`${lines.join('\n')}\n$`).toBe(STATUS);
    }
    const { lines } = readAll([bytes(STATUS)]);
    expect(legacyOutcome(lines, true)).toEqual({ kind: 'ok', lines });
  });

  it('an empty answer ("$" alone) is a success with no lines', () => {
    const { lines, complete } = readAll([bytes(LEGACY_END)]);
    expect(lines).toEqual([]);
    expect(legacyOutcome(lines, complete)).toEqual({ kind: 'ok', lines: [] });
  });

  it('a close without "$" is a refusal; every line the reference wrote is its reason', () => {
    for (const text of [OGM_REFUSED, SHOW_REFUSED]) {
      const { lines, complete } = readAll([bytes(text)]);
      expect(complete).toBe(false);
      const o = legacyOutcome(lines, complete);
      expect(o).toEqual({ kind: 'refused', lines: [], errors: text.trimEnd().split('\n') });
    }
    expect(legacyOutcome([], false)).toEqual({ kind: 'refused', lines: [], errors: [] });
  });

  it('error lines in an answer that ends with "$" (bmx7d) make it a refusal too', () => {
    const o = legacyOutcome(['STATUS:', 'ERROR: links: no such table'], true);
    expect(o).toEqual({ kind: 'refused', lines: ['STATUS:'], errors: ['ERROR: links: no such table'] });
    expect(isLegacyErrorLine('ERROR apply_stream_opts: invalid argument: 1')).toBe(true);
    expect(isLegacyErrorLine('ERRORS: none')).toBe(false);
  });

  it("bmx7d's busy reply is recognised", () => {
    const busy = encodeFrame(errorReply(null, 'busy', 'too many control connections (at most 16)'));
    const { lines, complete } = readAll([bytes(busy)]);
    expect(legacyOutcome(lines, complete)).toEqual({
      kind: 'busy',
      message: 'too many control connections (at most 16)',
    });
    expect(legacyOutcome(['{"type":"reply"'], false).kind).toBe('refused');
  });

  it('bounds a line without newline (a log stream never ending its line)', () => {
    const r = createLegacyAnswerReader(8);
    expect(r.push(bytes('abcdefghijkl')).lines).toEqual(['abcdefgh']);
    expect(r.push(bytes('mn\n')).lines).toEqual(['ijklmn']);
    expect(r.received()).toBe(15);
  });

  it('never throws, and the lines do not depend on how the bytes were split', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), fc.array(fc.nat(300), { maxLength: 6 }), (text, cuts) => {
        const all = bytes(text);
        const points = [...new Set(cuts.map((c) => c % (all.length + 1)))].sort((a, b) => a - b);
        const chunks: Uint8Array[] = [];
        let at = 0;
        for (const p of points) {
          chunks.push(all.slice(at, p));
          at = p;
        }
        chunks.push(all.slice(at));
        const whole = readAll([all]);
        expect(readAll(chunks)).toEqual(whole);
        legacyOutcome(whole.lines, whole.complete);
      }),
    );
  });
});
