import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Operation } from './args.js';
import { CONTROL_OPTIONS, CORE_OPTIONS, createReferenceOptionTable, TUN_OPTIONS } from './option-data.js';
import { createOptionTable } from './options.js';
import {
  decodeServerFrame,
  type ErrorReply,
  MAX_PENDING_EVENT_BYTES,
  type OkReply,
  type ServerFrame,
} from './protocol.js';
import { busyFrame, type ControlBackend, createControlSession, type Outcome } from './session.js';
import { type ConfigState, EMPTY_CONFIG, instancesOf } from './state.js';
import { LINKS_TABLE } from './tables.js';

const enc = new TextEncoder();

function harness(opts: { refuse?: string; refuseOption?: string; withoutTun?: boolean } = {}) {
  const options = opts.withoutTun
    ? createOptionTable(CONTROL_OPTIONS, CORE_OPTIONS)
    : createReferenceOptionTable();
  const checked: ConfigState[] = [];
  let config: ConfigState = EMPTY_CONFIG;
  const reconfigured: string[][] = [];
  const actions: string[] = [];
  const backend: ControlBackend = {
    options,
    ...(opts.withoutTun ? { absent: createOptionTable(TUN_OPTIONS) } : {}),
    config: () => config,
    check(next): Outcome {
      checked.push(next);
      if (opts.refuseOption !== undefined)
        return { ok: false, message: `${opts.refuseOption}: refused`, option: opts.refuseOption };
      return { ok: true };
    },
    reconfigure(next, changed): Outcome {
      if (opts.refuseOption !== undefined)
        return { ok: false, message: `${opts.refuseOption}: refused`, option: opts.refuseOption };
      if (opts.refuse !== undefined) return { ok: false, message: opts.refuse };
      config = next;
      reconfigured.push([...changed]);
      return { ok: true };
    },
    action(op: Operation): Outcome {
      actions.push(op.option);
      return { ok: true };
    },
    version: () => ({ version: '0.1.0', compatibility: 21, hostname: 'n1' }),
    tableNames: () => ['status', 'links'],
    table: (name) =>
      name === 'links'
        ? {
            table: 'links',
            title: 'LINKS',
            columns: LINKS_TABLE.columns,
            rows: [{ shortId: 'C6792132', name: 'ref-n2', rq: 100, tq: 100 }],
          }
        : undefined,
    descriptions: () => [{ name: 'n1' }],
  };
  let out = '';
  let closed = false;
  let pending = 0;
  const session = createControlSession(
    backend,
    {
      write: (d) => {
        out += d;
      },
      close: () => {
        closed = true;
      },
      pending: () => pending,
    },
    { serverVersion: '0.1.0' },
  );
  const frames = (): ServerFrame[] => {
    const lines = out.split('\n').filter((l) => l.length > 0);
    out = '';
    return lines.map((l) => {
      const f = decodeServerFrame(l);
      if (!f.ok) throw new Error(`bad frame ${l}: ${f.reason}`);
      return f.frame;
    });
  };
  const send = (...reqs: object[]) =>
    session.receive(enc.encode(reqs.map((r) => `${JSON.stringify(r)}\n`).join('')));
  return {
    session,
    send,
    frames,
    raw: () => {
      const o = out;
      out = '';
      return o;
    },
    closed: () => closed,
    config: () => config,
    reconfigured,
    actions,
    checked,
    options,
    setPending: (n: number) => {
      pending = n;
    },
  };
}

describe('control session (JSON)', () => {
  it('hello, version, tables, show, parameters, get, help, descriptions', () => {
    const h = harness();
    h.send(
      { id: 1, op: 'hello', args: { protocol: 1 } },
      { id: 2, op: 'version' },
      { id: 3, op: 'tables' },
      { id: 4, op: 'show', args: { table: 'links' } },
      { id: 5, op: 'show', args: { table: 'nope' } },
      { id: 6, op: 'get', args: { name: 'OGMINTERVAL' } },
      { id: 7, op: 'help' },
      { id: 8, op: 'descriptions' },
      { id: 9, op: 'hello', args: { protocol: 2 } },
      { id: 10, op: 'get', args: { name: 'bogus' } },
    );
    const f = h.frames() as (OkReply<Record<string, unknown>> | ErrorReply)[];
    expect(f.map((x) => [x.id, x.ok])).toEqual([
      [1, true],
      [2, true],
      [3, true],
      [4, true],
      [5, false],
      [6, true],
      [7, true],
      [8, true],
      [9, false],
      [10, false],
    ]);
    expect((f[0] as OkReply<Record<string, unknown>>).result).toMatchObject({
      protocol: 1,
      server: 'bmx7d',
      version: '0.1.0',
    });
    expect((f[3] as OkReply<Record<string, unknown>>).result).toMatchObject({
      table: 'links',
      rows: [{ shortId: 'C6792132' }],
    });
    expect((f[4] as ErrorReply).error).toEqual({
      code: 'unknown-table',
      message: 'requested table nope must be one of: status links',
    });
    expect((f[5] as OkReply<Record<string, unknown>>).result).toEqual({
      parameters: [{ name: 'ogmInterval', value: '6000', default: 6000 }],
    });
    expect((f[8] as ErrorReply).error.code).toBe('unsupported-protocol');
    expect((f[9] as ErrorReply).error).toMatchObject({ code: 'bad-option', option: 'bogus' });
  });

  it("a table only the reference daemon has is refused as the reference's, not as unknown", () => {
    const h = harness();
    h.send(
      ...['references', 'contents', 'cpu'].map((table, i) => ({
        id: i + 1,
        op: 'show' as const,
        args: { table },
      })),
    );
    const f = h.frames() as ErrorReply[];
    for (const [i, table] of ['references', 'contents', 'cpu'].entries())
      expect(f[i]!.error).toEqual({
        code: 'unknown-table',
        message: `requested table ${table} is the reference bmx7 daemon's: bmx7d does not have it (its tables: status links)`,
      });
  });

  it('set applies all or nothing, test applies nothing, actions go to the backend', () => {
    const h = harness();
    h.send({ id: 1, op: 'set', args: { argv: ['dev=eth1', 'dev=eth2', '/channel=6', 'txAvgInterval=900'] } });
    expect(h.frames()).toEqual([
      {
        type: 'reply',
        id: 1,
        ok: true,
        result: { applied: [['dev=eth1'], ['dev=eth2', '/channel=6'], ['txAvgInterval=900']], test: false },
      },
    ]);
    expect(h.reconfigured).toEqual([['dev', 'txAvgInterval']]);
    h.send(
      { id: 2, op: 'set', args: { argv: ['dev=-eth1', 'ogmInterval=1'] } },
      { id: 3, op: 'set', args: { argv: ['dev=-eth9'] } },
      { id: 4, op: 'set', args: { argv: ['dev=eth3'], test: true } },
      { id: 5, op: 'set', args: { argv: ['nodeRsaKey=6'] } },
      { id: 6, op: 'set', args: { argv: ['flushAll', 'dev=-eth2'] } },
    );
    const f = h.frames() as (OkReply | ErrorReply)[];
    expect(f[0]).toMatchObject({
      id: 2,
      ok: false,
      error: {
        code: 'bad-option',
        option: 'ogmInterval',
        message: 'ogmInterval: 1 is out of range 200..60000',
      },
    });
    expect(f[1]).toMatchObject({
      id: 3,
      ok: false,
      error: { code: 'bad-option', message: 'dev=-eth9: no such dev' },
    });
    expect(f[2]).toMatchObject({ id: 4, ok: true, result: { applied: [['dev=eth3']], test: true } });
    expect(f[3]).toMatchObject({
      id: 5,
      ok: false,
      error: { code: 'bad-option', message: 'nodeRsaKey: can only be set at start, not at runtime' },
    });
    expect(f[4]).toMatchObject({ id: 6, ok: true });
    expect(h.actions).toEqual(['flushAll']);
    expect(instancesOf(h.config(), h.options.get('dev') as never).map((i) => i.key)).toEqual(['eth1']);
    h.send({ id: 7, op: 'parameters' });
    expect((h.frames()[0] as OkReply<{ parameters: unknown[] }>).result.parameters).toEqual([
      { name: 'dev', value: 'eth1', children: [] },
      { name: 'txAvgInterval', value: '900', default: 800, children: [] },
    ]);
  });

  it('setTrustedNode is an action: carried out, never configured; -<ID> needs no earlier one', () => {
    const h = harness();
    const id = 'AB'.repeat(28);
    h.send(
      { id: 1, op: 'set', args: { argv: [`setTrustedNode=${id}`, '/trust=3', '/support=0'] } },
      { id: 2, op: 'set', args: { argv: [`setTrustedNode=-${id}`] } },
      { id: 3, op: 'set', args: { argv: ['setTrustedNode=ABCDEF01'] } },
      { id: 4, op: 'set', args: { argv: [`setTrustedNode=${id}`], test: true } },
    );
    const f = h.frames() as (OkReply | ErrorReply)[];
    expect(f.map((x) => x.ok)).toEqual([true, true, false, true]);
    expect(f[2]).toMatchObject({ error: { code: 'bad-option', option: 'setTrustedNode' } });
    expect(h.actions).toEqual(['setTrustedNode', 'setTrustedNode']);
    expect(h.reconfigured).toEqual([]);
    expect(h.config().has('setTrustedNode')).toBe(false);
    expect(h.options.get('publishSupportedNodes')).toMatchObject({ default: 1, when: 'both' });
  });

  it('a change the system refuses is reported and the old configuration stays', () => {
    const h = harness({ refuse: 'dev eth7: no such interface' });
    h.send({ id: 1, op: 'set', args: { argv: ['dev=eth7'] } });
    expect(h.frames()).toEqual([
      { type: 'reply', id: 1, ok: false, error: { code: 'failed', message: 'dev eth7: no such interface' } },
    ]);
    expect(h.config()).toBe(EMPTY_CONFIG);
  });

  it('a refusal that names an option is bad-option; test asks the backend to check', () => {
    const h = harness({ refuseOption: 'linkDhmKey' });
    h.send(
      { id: 1, op: 'set', args: { argv: ['linkDhmKey=5'] } },
      { id: 2, op: 'set', args: { argv: ['linkDhmKey=5'], test: true } },
    );
    expect(h.frames()).toEqual([
      {
        type: 'reply',
        id: 1,
        ok: false,
        error: { code: 'bad-option', message: 'linkDhmKey: refused', option: 'linkDhmKey' },
      },
      {
        type: 'reply',
        id: 2,
        ok: false,
        error: { code: 'bad-option', message: 'linkDhmKey: refused', option: 'linkDhmKey' },
      },
    ]);
    expect(h.checked).toHaveLength(1);
    expect(h.config()).toBe(EMPTY_CONFIG);
  });

  it('options of a plugin that is not loaded are refused naming the option and the plugin', () => {
    const h = harness({ withoutTun: true });
    h.send(
      { id: 1, op: 'set', args: { argv: ['tunDev=tun1', '/tun6Address=fd00::1/64'] } },
      { id: 2, op: 'set', args: { argv: ['txAvgInterval=900', 'tunOutTimeout=1000'] } },
      { id: 3, op: 'get', args: { name: 'tunIn' } },
      { id: 4, op: 'set', args: { argv: ['bogus=1'] } },
    );
    const f = h.frames() as ErrorReply[];
    expect(f.map((x) => x.error)).toEqual([
      {
        code: 'bad-option',
        message: 'tunDev: the tun plugin providing this option is not loaded',
        option: 'tunDev',
      },
      {
        code: 'bad-option',
        message: 'tunOutTimeout: the tun plugin providing this option is not loaded',
        option: 'tunOutTimeout',
      },
      {
        code: 'bad-option',
        message: 'tunIn: the tun plugin providing this option is not loaded',
        option: 'tunIn',
      },
      { code: 'bad-option', message: 'bogus: unknown option', option: 'bogus' },
    ]);
    expect(h.reconfigured).toEqual([]);
    // a reference client gets the same line as text
    const legacy = harness({ withoutTun: true });
    legacy.session.receive(enc.encode('tunOut=inet /network=0.0.0.0/0 #'));
    // refused as the reference refuses: the reason, then a close without the end mark
    expect(legacy.raw()).toBe('tunOut: the tun plugin providing this option is not loaded\n');
  });

  it('counts complete frames, not bytes', () => {
    const h = harness();
    h.session.receive(enc.encode('{"id":1,"op":"ver'));
    expect(h.session.frames).toBe(0);
    h.session.receive(enc.encode('sion"}\nnope\n\n{"id"'));
    expect(h.session.frames).toBe(2);
    h.frames();
  });

  it('1,000 malformed requests get 1,000 error replies, and the session still serves', () => {
    const h = harness();
    const junk = fc.sample(fc.string({ minLength: 1, maxLength: 60 }), { numRuns: 3000, seed: 7 });
    const lines = junk.map((j) => `x${j.replaceAll('\n', '').replaceAll('\r', '')}`).slice(0, 1000);
    h.session.receive(enc.encode(`{${lines.join('\n')}\n`));
    h.send({ id: 'alive', op: 'version' });
    const f = h.frames();
    expect(f).toHaveLength(1001);
    expect(f.slice(0, 1000).every((x) => x.type === 'reply' && !x.ok)).toBe(true);
    expect(f[1000]).toMatchObject({ id: 'alive', ok: true });
    expect(h.closed()).toBe(false);
  });

  it('streams log events at the subscribed level, drops for slow readers, and quits', () => {
    const h = harness();
    h.session.log(0, 'before subscribing');
    h.send({ id: 's', op: 'subscribe', args: { level: 3 } });
    h.session.log(3, 'dev eth1 up', 10);
    h.session.log(8, 'too detailed');
    h.setPending(MAX_PENDING_EVENT_BYTES + 1);
    h.session.log(0, 'lost');
    h.setPending(0);
    h.session.log(0, 'back');
    h.send({ id: 'u', op: 'unsubscribe' });
    h.session.log(0, 'after');
    expect(h.frames()).toEqual([
      { type: 'reply', id: 's', ok: true, result: { level: 3 } },
      { type: 'event', sub: 's', event: 'log', level: 3, message: 'dev eth1 up', time: 10 },
      { type: 'event', sub: 's', event: 'dropped', message: '1 log lines dropped' },
      { type: 'event', sub: 's', event: 'log', level: 0, message: 'back' },
      { type: 'reply', id: 'u', ok: true, result: {} },
    ]);
    h.send({ id: 'q', op: 'quit' }, { id: 'late', op: 'version' });
    expect(h.frames()).toEqual([{ type: 'reply', id: 'q', ok: true, result: {} }]);
    expect(h.closed()).toBe(true);
  });

  it('a throwing backend becomes an internal error, not a crash', () => {
    const options = createReferenceOptionTable();
    let out = '';
    const s = createControlSession(
      {
        options,
        config: () => EMPTY_CONFIG,
        reconfigure: () => ({ ok: true }),
        action: () => ({ ok: true }),
        version: () => {
          throw new Error('boom');
        },
        tableNames: () => [],
        table: () => undefined,
        descriptions: () => [],
      },
      { write: (d) => (out += d), close: () => {} },
      { serverVersion: 'x' },
    );
    s.receive(enc.encode('{"id":1,"op":"version"}\n'));
    expect(JSON.parse(out)).toEqual({
      type: 'reply',
      id: 1,
      ok: false,
      error: { code: 'internal', message: 'version: boom' },
    });
  });

  it('busy frame for connections over the limit', () => {
    expect(JSON.parse(busyFrame())).toMatchObject({ id: null, ok: false, error: { code: 'busy' } });
  });
});

describe('control session (the reference plain-text protocol)', () => {
  it('answers a reference client in text ended by $ and closes', () => {
    const h = harness();
    h.session.receive(enc.encode('dev=eth1 show=links #'));
    const text = h.raw();
    expect(text.endsWith('$')).toBe(true);
    expect(text).toMatch(/^LINKS:\nshortId {2}name {3}linkKey linkKeys nbLocalIp dev rts rq {2}tq {2}/);
    expect(h.closed()).toBe(true);
    expect(h.reconfigured).toEqual([['dev']]);
  });

  it('reports a bad option as text, closing without the end mark as the reference does', () => {
    const h = harness();
    h.session.receive(enc.encode('ogmInterval=1 #'));
    expect(h.raw()).toBe('ogmInterval: 1 is out of range 200..60000\n');
    expect(h.closed()).toBe(true);
  });

  it("refuses a reference daemon's table in text too, naming it as the reference's", () => {
    const h = harness();
    h.session.receive(enc.encode('show=cpu #'));
    expect(h.raw()).toBe(
      "requested table cpu is the reference bmx7 daemon's: bmx7d does not have it (its tables: status links)\n",
    );
    expect(h.closed()).toBe(true);
  });

  it('streams the log as text for -cd3', () => {
    const h = harness();
    h.session.receive(enc.encode('-d3 #'));
    h.session.log(3, 'a change costs $5');
    expect(h.raw()).toBe('a change costs ?5\n');
    expect(h.closed()).toBe(false);
    h.session.end();
    expect(h.closed()).toBe(true);
  });
});
