/**
 * The `topology` and `explain` requests: their decoding, the session's answers, bmx7ctl's command
 * line for them, and their output (NetJSON as it is, DOT, the explanation's text).
 */
import { describe, expect, it } from 'vitest';
import { parseCtlArgs } from './ctl.js';
import { type ExplainTunnelsResult, printable, renderExplainTunnels } from './explain.js';
import { costOf, dotEscape, type NetworkGraph, netjsonToDot } from './netjson.js';
import { createReferenceOptionTable } from './option-data.js';
import { formatResultJson, formatResultText, formatTopologyDot } from './output.js';
import { decodeRequest, type ErrorReply, type OkReply } from './protocol.js';
import { type ControlBackend, handleRequest } from './session.js';
import { EMPTY_CONFIG } from './state.js';

const split = (s: string) => s.split(' ').filter((w) => w.length > 0);

const ID_A = 'A'.repeat(56);
const ID_B = 'B'.repeat(56);
const ID_C = 'C'.repeat(56);

const GRAPH: NetworkGraph = {
  type: 'NetworkGraph',
  protocol: 'BMX7',
  version: 'bmx7d-0.1.0',
  metric: 'bmx7',
  router_id: ID_A,
  label: 'n1',
  nodes: [
    { id: ID_A, label: 'n1', local_addresses: ['fd70::a'] },
    // a hostile host name: quotes, a backslash, a brace, a newline, an escape sequence
    { id: ID_B, label: 'x"; } digraph evil { "\\\n\u001b[31m' },
    { id: ID_C },
  ],
  links: [
    { source: ID_A, target: ID_B, cost: 1, cost_text: '1000M', properties: { type: 'link' } },
    { source: ID_A, target: ID_C, cost: 2, cost_text: '500M', properties: { type: 'route', via: ID_B } },
    { source: ID_B, target: ID_C, cost: 4, cost_text: '250M', properties: { type: 'announced' } },
  ],
};

/**
 * A parser for the DOT that netjsonToDot writes: `digraph ID { stmt; … }`, statements `graph [..]`,
 * `node [..]`, `ID [..]` and `ID -> ID [..]`, IDs and values as quoted strings (only `\"` and `\\`
 * escaped) or bare words. Throws on anything else; gives the statements with unescaped strings.
 */
function parseDot(text: string) {
  let i = 0;
  const ws = () => {
    while (i < text.length && /\s/.test(text[i]!)) i++;
  };
  const expectChar = (c: string) => {
    ws();
    if (text[i] !== c) throw new Error(`expected ${c} at ${i}: ${JSON.stringify(text.slice(i, i + 20))}`);
    i++;
  };
  const id = (): string => {
    ws();
    if (text[i] === '"') {
      i++;
      let out = '';
      for (;;) {
        const ch = text[i++];
        if (ch === undefined) throw new Error('unterminated string');
        if (ch === '"') return out;
        if (ch === '\n') throw new Error('newline in a string');
        if (ch === '\\') {
          const next = text[i++];
          if (next === '"' || next === '\\') out += next;
          else if (next === 'n') out += '\n';
          else throw new Error(`escape \\${next}`);
        } else out += ch;
      }
    }
    const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i));
    if (!m) throw new Error(`expected an id at ${i}: ${JSON.stringify(text.slice(i, i + 20))}`);
    i += m[0].length;
    return m[0];
  };
  const attrs = (): Record<string, string> => {
    const out: Record<string, string> = {};
    expectChar('[');
    for (;;) {
      ws();
      if (text[i] === ']') {
        i++;
        return out;
      }
      const k = id();
      expectChar('=');
      out[k] = id();
      ws();
      if (text[i] === ',') i++;
    }
  };
  if (id() !== 'digraph') throw new Error('not a digraph');
  const name = id();
  expectChar('{');
  const stmts: { kind: string; a?: string; b?: string; attrs: Record<string, string> }[] = [];
  for (;;) {
    ws();
    if (text[i] === '}') {
      i++;
      break;
    }
    const a = id();
    ws();
    if (a === 'graph' || a === 'node') stmts.push({ kind: a, attrs: attrs() });
    else if (text.startsWith('->', i)) {
      i += 2;
      const b = id();
      stmts.push({ kind: 'edge', a, b, attrs: attrs() });
    } else stmts.push({ kind: 'node-stmt', a, attrs: attrs() });
    expectChar(';');
  }
  ws();
  if (i !== text.length) throw new Error('text after the graph');
  return { name, stmts };
}

describe('NetJSON and DOT', () => {
  it('cost: 10^9 / metric, lower is better; no path costs the most', () => {
    expect(costOf(1e9)).toBe(1);
    expect(costOf(100e6)).toBe(10);
    expect(costOf(0)).toBe(Number.MAX_SAFE_INTEGER);
  });

  it('the DOT has every node and link, parses, and keeps hostile labels inside their strings', () => {
    const dot = netjsonToDot(GRAPH);
    const g = parseDot(dot);
    expect(g.name).toBe('BMX7');
    const nodes = g.stmts.filter((s) => s.kind === 'node-stmt');
    expect(nodes.map((n) => n.a)).toEqual([ID_A, ID_B, ID_C]);
    expect(nodes[0]!.attrs).toEqual({ label: 'n1\nAAAAAAAA', style: 'bold' });
    // the hostile name comes back as written, its control characters as '?'
    expect(nodes[1]!.attrs.label).toBe('x"; } digraph evil { "\\??[31m\nBBBBBBBB');
    expect(nodes[2]!.attrs.label).toBe('CCCCCCCC');
    const edges = g.stmts.filter((s) => s.kind === 'edge');
    expect(edges.map((e) => [e.a, e.b, e.attrs.label, e.attrs.style])).toEqual([
      [ID_A, ID_B, '1000M', 'solid'],
      [ID_A, ID_C, '500M', 'dashed'],
      [ID_B, ID_C, '250M', 'dotted'],
    ]);
    // one statement per line: nothing from a label starts a line of its own
    expect(dot.split('\n').filter((l) => l.startsWith('  ')).length).toBe(3 + 3 + 2);
    expect(formatTopologyDot(GRAPH)).toBe(dot);
  });

  it('dotEscape: quotes and backslashes escaped, control characters replaced', () => {
    expect(dotEscape('a"b\\c')).toBe('a\\"b\\\\c');
    expect(dotEscape('x\ny\rz\u0000\u007f\u2028')).toBe('x?y?z???');
    expect(dotEscape('')).toBe('');
  });

  it('the text of a topology reply is the NetJSON itself; --json gives the same object', () => {
    const body = { op: 'topology', args: {} } as const;
    expect(JSON.parse(formatResultText(body, GRAPH))).toEqual(GRAPH);
    expect(formatResultJson(body, GRAPH)).toEqual(GRAPH);
  });
});

const EXPLAINED: ExplainTunnelsResult = {
  subject: 'tunnels',
  searches: [
    {
      search: 'v6',
      network: 'fdbb::/16',
      family: 6,
      settings: {
        pref: 32767,
        table: 254,
        ipMetric: 1024,
        rating: 100,
        hysteresis: 20,
        minBandwidth: 983040,
        minPrefixLen: 129,
        maxPrefixLen: 128,
        proto: 256,
        crypt: 2,
      },
      winners: [
        {
          search: 'v6',
          gatewayId: 'a'.repeat(56),
          gatewayName: 'g1',
          network: 'fdbb::/16',
          route: 'fdbb::/16',
        },
      ],
      candidates: [
        {
          gateway: { id: 'a'.repeat(56), shortId: 'AAAAAAAA', name: 'g1' },
          network: 'fdbb::/16',
          tun6Id: 0,
          verdict: 'selected',
          route: 'fdbb::/16',
          rank: 1,
          terms: {
            pathMetric: 500e6,
            hops: 2,
            bandwidth: 100e6,
            minBandwidth: 983040,
            bandwidthCounted: 257698037760,
            e2eMetric: 500e6,
            rating: 100,
            hysteresis: 20,
            inUse: true,
            tunMetric: 600e6,
            pref: 32767,
            ipMetric: 1024,
          },
          crypt: { setting: 2, offer: 1, peer: true, decision: 'encrypted', admitted: true },
          tunnel: { dev: 'X7wg_AAAAAAAA', crypt: 'encrypted' },
          rule: {
            code: 'hysteresis',
            text: 'above g2: in use: tunnel metric 500M +20% hysteresis = 600M > 590M',
          },
        },
        {
          gateway: { id: 'b'.repeat(56), shortId: 'BBBBBBBB', name: 'g2\u001b[2J' },
          network: 'fdbb::/16',
          tun6Id: 0,
          verdict: 'beaten',
          route: 'fdbb::/16',
          rank: 2,
          terms: {
            pathMetric: 590e6,
            hops: 1,
            bandwidth: 500_000,
            minBandwidth: 983040,
            bandwidthCounted: 500_000,
            e2eMetric: 500_000,
            rating: 100,
            hysteresis: 0,
            inUse: false,
            tunMetric: 500_000,
            pref: 32767,
            ipMetric: 1024,
          },
          rule: {
            code: 'hysteresis',
            text: 'below g1: in use: tunnel metric 500M +20% hysteresis = 600M > 590M',
          },
        },
        {
          gateway: { id: 'c'.repeat(56), shortId: 'CCCCCCCC', name: 'g3' },
          network: 'fdbb::/16',
          tun6Id: 0,
          verdict: 'excluded',
          rule: { code: 'gw-name', text: 'excluded: /gwName=g1 does not match g3' },
        },
      ],
    },
    {
      search: 'v4',
      network: '0.0.0.0/0',
      family: 4,
      settings: {
        pref: 32767,
        table: 254,
        ipMetric: 1024,
        rating: 100,
        hysteresis: 20,
        minBandwidth: 983040,
        minPrefixLen: 129,
        maxPrefixLen: 128,
        proto: 256,
      },
      winners: [],
      candidates: [],
    },
  ],
};

describe('explain tunnels: text', () => {
  it('per search: its result, settings, then each candidate with its terms and rule', () => {
    expect(renderExplainTunnels(EXPLAINED)).toBe(
      [
        'tunOut=v6 /network=fdbb::/16: g1 [AAAAAAAA] fdbb::/16 in X7wg_AAAAAAAA (encrypted)',
        '  pref 32767 table 254 ipMetric 1024 rating 100% hysteresis 20% minBandwidth 983K crypt 2',
        '   1 selected g1 [AAAAAAAA] fdbb::/16',
        '       path 500M (2 hops), bandwidth 100M (≥ minBandwidth 983K), e2e 500M, rating 100%, in use +20%, tunnel metric 600M, crypt encrypted (setting 2, offer 1, peer)',
        '       above g2: in use: tunnel metric 500M +20% hysteresis = 600M > 590M',
        '   2 beaten   g2?[2J [BBBBBBBB] fdbb::/16',
        '       path 590M (1 hop), bandwidth 500K (below minBandwidth 983K: counts), e2e 500K, rating 100%, tunnel metric 500K',
        '       below g1: in use: tunnel metric 500M +20% hysteresis = 600M > 590M',
        '   - excluded g3 [CCCCCCCC] fdbb::/16',
        '       excluded: /gwName=g1 does not match g3',
        '',
        'tunOut=v4 /network=0.0.0.0/0: no gateway (no network of this family announced)',
        '  pref 32767 table 254 ipMetric 1024 rating 100% hysteresis 20% minBandwidth 983K',
        '',
      ].join('\n'),
    );
    expect(renderExplainTunnels({ subject: 'tunnels', searches: [] })).toBe(
      'no tunOut configured: nothing to explain\n',
    );
    const body = { op: 'explain', args: { subject: 'tunnels' } } as const;
    expect(formatResultText(body, EXPLAINED)).toBe(renderExplainTunnels(EXPLAINED));
    expect(formatResultJson(body, EXPLAINED)).toEqual(EXPLAINED);
  });

  it('a search without a winner says why in its first line', () => {
    const s = EXPLAINED.searches[0]!;
    const lost = {
      ...s,
      winners: [],
      candidates: s.candidates.slice(1),
    };
    expect(renderExplainTunnels({ subject: 'tunnels', searches: [lost] }).split('\n')[0]).toBe(
      'tunOut=v6 /network=fdbb::/16: no gateway (1 candidate beaten by other searches, 1 network excluded)',
    );
  });

  it('printable: no control characters from other nodes reach the terminal', () => {
    expect(printable('a\u001b[31mb\n')).toBe('a?[31mb?');
  });
});

describe('the requests', () => {
  it('decode: topology takes no args; explain takes a known subject', () => {
    expect(decodeRequest('{"id":1,"op":"topology"}')).toEqual({
      ok: true,
      request: { id: 1, op: 'topology', args: {} },
    });
    expect(decodeRequest('{"id":2,"op":"explain","args":{"subject":"tunnels","x":1}}')).toEqual({
      ok: true,
      request: { id: 2, op: 'explain', args: { subject: 'tunnels' } },
    });
    for (const bad of ['{"id":3,"op":"explain"}', '{"id":3,"op":"explain","args":{"subject":"routes"}}']) {
      const r = decodeRequest(bad);
      expect(r.ok).toBe(false);
      if (!r.ok)
        expect(r.reply.error).toEqual({
          code: 'bad-args',
          message: 'explain: subject must be one of: tunnels',
        });
    }
  });

  const backend = (withIt: boolean): ControlBackend => ({
    options: createReferenceOptionTable(),
    config: () => EMPTY_CONFIG,
    reconfigure: () => ({ ok: true }),
    action: () => ({ ok: true }),
    version: () => ({ version: '0', compatibility: 21 }),
    tableNames: () => [],
    table: () => undefined,
    descriptions: () => [],
    ...(withIt ? { topology: () => GRAPH, explain: () => EXPLAINED } : {}),
  });

  it('the session answers from the backend, or `failed` where the daemon has none', () => {
    const init = { serverVersion: '0' };
    expect(handleRequest(backend(true), { id: 1, op: 'topology', args: {} }, init)).toEqual({
      type: 'reply',
      id: 1,
      ok: true,
      result: GRAPH,
    });
    expect(
      (handleRequest(backend(true), { id: 2, op: 'explain', args: { subject: 'tunnels' } }, init) as OkReply)
        .result,
    ).toBe(EXPLAINED);
    expect(
      (handleRequest(backend(false), { id: 3, op: 'topology', args: {} }, init) as ErrorReply).error,
    ).toEqual({
      code: 'failed',
      message: 'topology: not available in this daemon',
    });
    expect(
      (
        handleRequest(
          backend(false),
          { id: 4, op: 'explain', args: { subject: 'tunnels' } },
          init,
        ) as ErrorReply
      ).error.code,
    ).toBe('failed');
  });

  it('bmx7ctl: topology --netjson|--dot, topology alone is the table, explain tunnels', () => {
    expect(parseCtlArgs(split('topology --netjson'))).toMatchObject({
      kind: 'request',
      requests: [{ op: 'topology', args: {} }],
      graph: 'netjson',
      json: false,
    });
    expect(parseCtlArgs(split('--runtime-dir /r topology --dot'))).toMatchObject({
      requests: [{ op: 'topology' }],
      graph: 'dot',
      runtimeDir: '/r',
    });
    expect(parseCtlArgs(split('--json topology --netjson'))).toMatchObject({ graph: 'netjson', json: true });
    expect(parseCtlArgs(split('topology'))).toMatchObject({
      kind: 'request',
      requests: [{ op: 'show', args: { table: 'topology' } }],
    });
    expect(parseCtlArgs(split('topology'))).not.toHaveProperty('graph');
    expect(parseCtlArgs(split('-c topology'))).toMatchObject({
      requests: [{ op: 'show', args: { table: 'topology' } }],
    });
    expect(parseCtlArgs(split('explain tunnels'))).toMatchObject({
      kind: 'request',
      requests: [{ op: 'explain', args: { subject: 'tunnels' } }],
    });
    expect(parseCtlArgs(split('explain tunnels --json'))).toMatchObject({ json: true });
    // a reference daemon has no such request: no words to send it
    expect(parseCtlArgs(split('explain tunnels'))).not.toHaveProperty('legacyWords');
    expect(parseCtlArgs(split('topology --dot'))).not.toHaveProperty('legacyWords');
  });

  it.each([
    ['topology --dot --netjson', 'topology: give one of --netjson or --dot, and nothing else'],
    ['topology --dot extra', 'topology: give one of --netjson or --dot, and nothing else'],
    ['--json topology --dot', 'topology: --dot and --json exclude each other'],
    ['explain', 'explain: what? (explain tunnels)'],
    ['explain routes', 'explain: what? (explain tunnels)'],
    ['explain tunnels more', 'explain: what? (explain tunnels)'],
  ])('usage error: %s', (argv, message) => {
    expect(parseCtlArgs(split(argv))).toEqual({ kind: 'usage-error', message });
  });
});
