import { describe, expect, it } from 'vitest';
import { formatOperation, type Operation, type ParseContext, parseArgs, splitWords } from './args.js';
import { EXIT_USAGE } from './errors.js';
import { createReferenceOptionTable } from './option-data.js';
import { createOptionTable, registerOptions } from './options.js';

const table = createReferenceOptionTable();
const parse = (s: string, context: ParseContext = 'init') => parseArgs(splitWords(s), table, { context });
const ops = (s: string, context: ParseContext = 'init'): readonly Operation[] => {
  const r = parse(s, context);
  if (!r.ok) throw new Error(`unexpected error: ${r.error.message}`);
  return r.value.ops;
};
const op = (
  option: string,
  o: Operation['op'],
  value?: number | string,
  children: Operation['children'] = [],
) => ({
  option,
  op: o,
  ...(value === undefined ? {} : { value }),
  children,
  checkOnly: false,
});

describe('parseArgs: every syntax form', () => {
  const cases: [string, ParseContext, Operation[]][] = [
    ['dev=eth1', 'init', [op('dev', 'set', 'eth1')]],
    ['--dev eth1', 'init', [op('dev', 'set', 'eth1')]],
    ['--dev=eth1', 'init', [op('dev', 'set', 'eth1')]],
    ['dev eth1', 'init', [op('dev', 'set', 'eth1')]],
    ['-i eth1', 'init', [op('dev', 'set', 'eth1')]],
    ['-ieth1', 'init', [op('dev', 'set', 'eth1')]],
    ['-i=eth1', 'init', [op('dev', 'set', 'eth1')]],
    ['DEV=eth1', 'init', [op('dev', 'set', 'eth1')]],
    ['dev=eth1 /channel=6', 'init', [op('dev', 'set', 'eth1', [{ option: 'channel', op: 'set', value: 6 }])]],
    ['dev=eth1 /channel 6', 'init', [op('dev', 'set', 'eth1', [{ option: 'channel', op: 'set', value: 6 }])]],
    ['dev=eth1 /c=6', 'init', [op('dev', 'set', 'eth1', [{ option: 'channel', op: 'set', value: 6 }])]],
    ['dev=eth1 /channel=-', 'runtime', [op('dev', 'set', 'eth1', [{ option: 'channel', op: 'reset' }])]],
    [
      'dev=eth1 /channel=6 /channel=7',
      'init',
      [op('dev', 'set', 'eth1', [{ option: 'channel', op: 'set', value: 7 }])],
    ],
    [
      'nodeRsaKey=6 /keyPath=/tmp/k.der',
      'init',
      [op('nodeRsaKey', 'set', 6, [{ option: 'keyPath', op: 'set', value: '/tmp/k.der' }])],
    ],
    ['dev=-eth2', 'runtime', [op('dev', 'remove', 'eth2')]],
    ['tunIn=-net6', 'runtime', [op('tunIn', 'remove', 'net6')]],
    ['txAvgInterval=-', 'runtime', [op('txAvgInterval', 'reset')]],
    ['txAvgInterval=900', 'runtime', [op('txAvgInterval', 'set', 900)]],
    ['ogmInterval=6000 linkWindow=64', 'init', [op('ogmInterval', 'set', 6000), op('linkWindow', 'set', 64)]],
    ['status links', 'runtime', [op('status', 'flag'), op('links', 'flag')]],
    [
      'show=originators /r=0',
      'runtime',
      [op('show', 'set', 'originators', [{ option: 'relevance', op: 'set', value: 0 }])],
    ],
    ['-s links', 'runtime', [op('show', 'set', 'links')]],
    ['-p', 'runtime', [op('parameters', 'flag')]],
    ['-d3', 'runtime', [op('debug', 'set', 3)]],
    ['-d 3', 'runtime', [op('debug', 'set', 3)]],
    ['-vp', 'runtime', [op('version', 'flag'), op('parameters', 'flag')]],
    ['-pd3', 'runtime', [op('parameters', 'flag'), op('debug', 'set', 3)]],
    [
      'runtimeDir=/tmp/r hostname=n1 dev=eth0',
      'init',
      [op('runtimeDir', 'set', '/tmp/r'), op('hostname', 'set', 'n1'), op('dev', 'set', 'eth0')],
    ],
    [
      'ipAutoPrefix=fd70::/16 tunDevName=X7 unicastHna=fd01::/64',
      'init',
      [
        op('ipAutoPrefix', 'set', 'fd70::/16'),
        op('tunDevName', 'set', 'X7'),
        op('unicastHna', 'set', 'fd01::/64'),
      ],
    ],
    [
      'tunOut=inet /network=0.0.0.0/0 /minBandwidth=100M',
      'runtime',
      [
        op('tunOut', 'set', 'inet', [
          { option: 'network', op: 'set', value: '0.0.0.0/0' },
          { option: 'minBandwidth', op: 'set', value: '100M' },
        ]),
      ],
    ],
    ['help /r=0', 'runtime', [op('help', 'flag', undefined, [{ option: 'relevance', op: 'set', value: 0 }])]],
    [
      'descriptions /type=16 /name=n1',
      'runtime',
      [
        op('descriptions', 'flag', undefined, [
          { option: 'type', op: 'set', value: 16 },
          { option: 'name', op: 'set', value: 'n1' },
        ]),
      ],
    ],
    ['', 'init', []],
  ];
  it.each(cases)('%s (%s)', (input, ctx, want) => {
    expect(ops(input, ctx)).toEqual(want);
  });

  it('test marks what follows as check-only', () => {
    const r = parse('dev=eth1 test dev=eth2', 'runtime');
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.test).toBe(true);
    expect(r.value.ops.map((o) => [o.value, o.checkOnly])).toEqual([
      ['eth1', false],
      ['eth2', true],
    ]);
  });

  it('connect (-c) hands the rest on unparsed, in clusters too', () => {
    const cases: [string, string[], string[]][] = [
      ['-c show=originators', [], ['show=originators']],
      ['-lc status links', ['loopMode'], ['status', 'links']],
      ['-cd3', [], ['-d3']],
      ['runtimeDir=/tmp/x -c dev=eth2', ['runtimeDir'], ['dev=eth2']],
      ['connect=status links', [], ['status', 'links']],
      ['--connect status', [], ['status']],
    ];
    for (const [input, before, rest] of cases) {
      const r = parse(input, 'init');
      expect(r.ok, input).toBe(true);
      if (!r.ok) continue;
      expect(
        r.value.ops.map((o) => o.option),
        input,
      ).toEqual(before);
      expect(r.value.rest, input).toEqual(rest);
    }
  });

  it('formatOperation gives back words that parse to the same operation', () => {
    for (const s of [
      'dev=eth1 /channel=6',
      'dev=-eth2',
      'txAvgInterval=-',
      'status',
      'show=links /relevance=0',
      'tunOut=x /network=10.0.0.0/8',
    ]) {
      const first = ops(s, 'runtime');
      const again = ops(first.flatMap(formatOperation).join(' '), 'runtime');
      expect(again).toEqual(first);
    }
  });

  it('passes unknown options through when asked (a client forwarding to a daemon with more plugins)', () => {
    const r = parseArgs(['wgKey=abc', '/x=1', 'wgDev=-wg0', 'wgFlag'], table, {
      context: 'runtime',
      unknown: 'passthrough',
    });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.ops).toEqual([
      op('wgKey', 'set', 'abc', [{ option: 'x', op: 'set', value: '1' }]),
      op('wgDev', 'remove', 'wg0'),
      op('wgFlag', 'flag'),
    ]);
  });
});

describe('parseArgs: every error form names the option and the reason', () => {
  const cases: [string, ParseContext, string, string | undefined, RegExp][] = [
    ['bogus=1', 'init', 'unknown-option', 'bogus', /bogus: unknown option/],
    ['-Z', 'init', 'unknown-option', '-Z', /-Z: unknown option/],
    ['ogmInterval=abc', 'init', 'bad-value', 'ogmInterval', /ogmInterval: "abc" is not an integer/],
    [
      'ogmInterval=100',
      'init',
      'out-of-range',
      'ogmInterval',
      /ogmInterval: 100 is out of range 200\.\.60000/,
    ],
    ['linkWindow=129', 'init', 'out-of-range', 'linkWindow', /linkWindow/],
    ['ogmInterval', 'init', 'missing-value', 'ogmInterval', /value missing/],
    ['-i', 'init', 'missing-value', 'dev', /dev \(-i\): value missing/],
    ['status=1', 'runtime', 'unexpected-value', 'status', /status: takes no value/],
    ['dev=eth1 /bogus=1', 'init', 'unknown-child', 'dev', /dev: unknown child option \/bogus/],
    ['dev=eth1 /channel=300', 'init', 'out-of-range', 'dev', /dev \/channel: 300 is out of range 0\.\.255/],
    ['dev=eth1 /channel', 'init', 'missing-value', 'dev', /value missing/],
    ['/channel=6', 'init', 'child-without-parent', 'channel', /without a parent/],
    ['dev=-eth1 /channel=6', 'runtime', 'remove-and-refine', 'dev', /cannot be removed and refined/],
    ['ogmInterval=- /x=1', 'runtime', 'unknown-child', 'ogmInterval', /unknown child/],
    ['dev=-', 'runtime', 'missing-value', 'dev', /instance to remove/],
    ['ogmInterval=-5', 'runtime', 'bad-value', 'ogmInterval', /reset with ogmInterval=-/],
    ['dev=eth1 hostname=x', 'init', 'order', 'hostname', /hostname: must appear earlier/],
    ['hostname=x runtimeDir=/tmp', 'init', 'order', 'runtimeDir', /runtimeDir: must appear earlier/],
    ['nodeRsaKey=6', 'runtime', 'init-only', 'nodeRsaKey', /can only be set at start/],
    ['runtimeDir=/x', 'runtime', 'init-only', 'runtimeDir', /at start/],
    ['show=links', 'init', 'runtime-only', 'show', /query or action/],
    ['ipAutoPrefix=fd70::', 'init', 'bad-value', 'ipAutoPrefix', /prefix length missing/],
    ['ipAutoPrefix=fd70::/200', 'init', 'out-of-range', 'ipAutoPrefix', /out of range 0\.\.128/],
    ['ipAutoPrefix=nonsense/16', 'init', 'bad-value', 'ipAutoPrefix', /not an IP address/],
    ['tunDevName=toolong', 'init', 'bad-value', 'tunDevName', /longer than 5/],
    ['hostname=a/b', 'init', 'bad-value', 'hostname', /host name/],
    ['-', 'init', 'syntax', undefined, /option name missing/],
    ['=x', 'init', 'syntax', '', /not an option/],
  ];
  it.each(cases)('%s (%s) → %s', (input, ctx, code, option, message) => {
    const r = parse(input, ctx);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.code).toBe(code);
    expect(r.error.option).toBe(option);
    expect(r.error.message).toMatch(message);
    expect(r.error.exitStatus).toBe(EXIT_USAGE);
    expect(r.error.name).toBe('OptionError');
  });

  it('order class 0 options (debug, test) may appear anywhere', () => {
    expect(parse('dev=eth1 debug=3 hostname=x').ok).toBe(false);
    expect(parse('hostname=x dev=eth1 debug=3').ok).toBe(true);
    expect(parse('dev=eth1 test').ok).toBe(true);
  });
});

describe('option table', () => {
  it('plugins register more options at runtime', () => {
    const t = createOptionTable();
    registerOptions(t, [
      {
        name: 'wgDev',
        type: { kind: 'string' },
        when: 'both',
        order: 9,
        relevance: 2,
        config: true,
        category: 'wg',
        help: 'x',
        multi: true,
      },
    ]);
    expect(parseArgs(['wgDev=wg0'], t, { context: 'runtime' }).ok).toBe(true);
    expect(() =>
      registerOptions(t, [
        {
          name: 'WGDEV',
          type: { kind: 'flag' },
          when: 'both',
          order: 9,
          relevance: 2,
          config: false,
          category: 'x',
          help: '',
        },
      ]),
    ).toThrow(TypeError);
  });
  it('every reference option has a sane spec', () => {
    for (const s of table.all()) {
      if (
        s.type.kind === 'int' &&
        typeof s.default === 'number' &&
        s.name !== 'nodeRsaKeys' &&
        s.name !== 'debug'
      ) {
        expect(s.default, s.name).toBeGreaterThanOrEqual(s.type.min);
        expect(s.default, s.name).toBeLessThanOrEqual(s.type.max);
      }
    }
    expect(table.all().length).toBeGreaterThan(100);
  });
});
