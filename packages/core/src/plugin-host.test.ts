/**
 * The plugin host, point by point: contributing TLVs and HNA6 entries, claims refused at attach,
 * reading TLVs at any time (also after a late attach), events, options, tables, private files,
 * routes, and isolation of throwing callbacks. Three engines in a line a — b — c on virtual time.
 */
import { type Hna6Entry, ip6FromString, ip6ToString, TLV_TYPE } from '@bmx7/codec';
import { generateRsaKey } from '@bmx7/crypto';
import { beforeEach, describe, expect, it } from 'vitest';
import { fixtureKey, Medium, type TestNode } from '../test/harness.js';
import { ownHna } from './own.js';
import type { EngineEvent, EnginePlugin, PluginHost, PluginSettings } from './plugin.js';
import { attachPlugin, type FilesPort, PluginError } from './plugin-host.js';
import type { Rule } from './ports.js';
import { createState } from './state.js';

const linkKey = generateRsaKey(4);
const text = (s: string) => new TextEncoder().encode(s);
const untext = (b: Uint8Array | undefined) => (b ? new TextDecoder().decode(b) : undefined);
/** Type 30 is free for extensions (docs/protocol.md §4.13). */
const T = 30;

function memoryFiles(): FilesPort & { files: Map<string, Uint8Array> } {
  const files = new Map<string, Uint8Array>();
  return {
    files,
    read: (p) => files.get(p),
    write: (p, b) => void files.set(p, Uint8Array.from(b)),
    remove: (p) => void files.delete(p),
  };
}

function line(): { m: Medium; a: TestNode; b: TestNode; c: TestNode } {
  const m = new Medium();
  const a = m.add({ nodeKey: fixtureKey('n1'), hostname: 'a', linkRsaKeyMaterial: linkKey }, ['eth0'], 1);
  const b = m.add(
    { nodeKey: fixtureKey('n2'), hostname: 'b', linkRsaKeyMaterial: linkKey },
    ['eth0', 'eth1'],
    2,
  );
  const c = m.add({ nodeKey: fixtureKey('n3'), hostname: 'c', linkRsaKeyMaterial: linkKey }, ['eth0'], 3, {
    files: memoryFiles(),
  });
  m.connect(0, 'eth0', 1, 'eth0');
  m.connect(1, 'eth1', 2, 'eth0');
  return { m, a, b, c };
}

/** A plugin that announces `body()` in type T and records what it sees. */
function announcer(name: string, body: () => string | undefined, hna: Hna6Entry[] = []) {
  const seen: Array<{ from: string; body: string | undefined; previous: string | undefined }> = [];
  const events: EngineEvent[] = [];
  let host!: PluginHost;
  const plugin: EnginePlugin = {
    name,
    attach(h) {
      host = h;
      h.registerTlv(T, {
        produce: () => {
          const b = body();
          return b === undefined ? undefined : text(b);
        },
        consume: (node, b, prev) => seen.push({ from: node.name, body: untext(b), previous: untext(prev) }),
      });
      if (hna.length) h.contributeHna6(() => hna);
      h.on((e) => events.push(e));
    },
  };
  return { plugin, seen, events, host: () => host };
}

/** The entries of node a's own HNA6 TLV with `plugin` attached (the state, without a network). */
function ownHnaWith(plugin: EnginePlugin): Hna6Entry[] {
  const m = new Medium();
  const s = createState(
    { nodeKey: fixtureKey('n1'), hostname: 'a', linkRsaKeyMaterial: linkKey },
    {
      clock: m.clock,
      random: { bytes: (n) => new Uint8Array(n), float: () => 0 },
      datagrams: { send: () => {} },
      routes: { set: () => {}, remove: () => {} },
      storage: { loadDescSqn: () => undefined, saveDescSqn: () => {} },
      logger: { log: () => {} },
    },
  );
  attachPlugin(s, plugin, {
    view: () => undefined,
    nodes: () => [],
    descUpdate: () => {},
    keepType: () => {},
  });
  return ownHna(s);
}

describe('plugin host', () => {
  let net: ReturnType<typeof line>;
  beforeEach(() => {
    net = line();
  });

  it('a TLV of a plugin spreads over two hops; HNA6 entries join the core TLV, flag 0x01 makes no route', () => {
    const endpoint: Hna6Entry = { prefixLen: 128, flags: 0x01, address: ip6FromString('fd01::a') };
    const net6: Hna6Entry = { prefixLen: 64, flags: 0, address: ip6FromString('fd02::') };
    const pa = announcer('greet', () => 'hello from a', [endpoint, net6]);
    const pc = announcer('greet', () => undefined);
    net.a.engine.use(pa.plugin);
    net.c.engine.use(pc.plugin);
    for (const n of net.m.nodes) n.engine.start();
    net.m.run(20_000);
    expect(pc.seen).toContainEqual({ from: 'a', body: 'hello from a', previous: undefined });
    expect(pc.host().tlv(net.a.engine.nodeId, T)).toEqual(text('hello from a'));
    expect(pc.host().tlvs(T)).toEqual(new Map([[net.a.engine.nodeId, text('hello from a')]]));
    // the own HNA6 TLV carries both entries after the primary /128 (and the announced network)
    expect(ownHnaWith(pa.plugin).map((x) => [ip6ToString(x.address), x.prefixLen, x.flags])).toEqual([
      [net.a.engine.primaryIp, 128, 0],
      ['fd01::a', 128, 1],
      ['fd02::', 64, 0],
    ]);
    // c routes a's primary address and its network, not the endpoint with the no-route flag
    expect(net.c.routes.has(`${net.a.engine.primaryIp}/128`)).toBe(true);
    expect(net.c.routes.has('fd02::/64')).toBe(true);
    expect(net.c.routes.has('fd01::a/128')).toBe(false);
  });

  it('claiming a core TLV type or one another plugin owns fails at attach and leaves nothing behind', () => {
    const claim = (name: string, type: number): EnginePlugin => ({
      name,
      attach(h) {
        h.registerTable(`${name}-table`, () => []);
        h.registerTlv(type, {});
      },
    });
    const err = (fn: () => void) => {
      try {
        fn();
      } catch (e) {
        return e;
      }
      return undefined;
    };
    const core = err(() => net.a.engine.use(claim('hna', TLV_TYPE.HNA6)));
    expect(core).toBeInstanceOf(PluginError);
    expect(core).toMatchObject({
      code: 'tlv-core',
      plugin: 'hna',
      message: 'plugin hna: TLV type 15 belongs to the core',
    });
    net.a.engine.use(claim('first', T));
    const second = err(() => net.a.engine.use(claim('second', T)));
    expect(second).toMatchObject({
      code: 'tlv-claimed',
      message: 'plugin second: TLV type 30 is claimed by first',
    });
    expect(err(() => net.a.engine.use(claim('first', 26)))).toMatchObject({ code: 'duplicate-plugin' });
    expect(err(() => net.a.engine.use(claim('range', 32)))).toMatchObject({ code: 'tlv-range' });
    const boom = err(() =>
      net.a.engine.use({
        name: 'boom',
        attach() {
          throw new Error('cannot');
        },
      }),
    );
    expect(boom).toMatchObject({ code: 'attach-failed', message: 'plugin boom: Error: cannot' });
    // the refused plugins' tables are gone, the accepted one's stays
    expect(net.a.engine.tables()).toContain('first-table');
    expect(net.a.engine.tables()).not.toContain('hna-table');
    expect(net.a.engine.tables()).not.toContain('second-table');
  });

  it('reads: itself, nodes with metric, hops and next hop, and TLVs known before a late attach', () => {
    net.a.engine.use(announcer('greet', () => 'early').plugin);
    for (const n of net.m.nodes) n.engine.start();
    net.m.run(20_000);
    const late = announcer('greet', () => undefined);
    net.c.engine.use(late.plugin);
    const h = late.host();
    expect(h.self()).toEqual({
      id: net.c.engine.nodeId,
      shortId: net.c.engine.shortId,
      name: 'c',
      primaryIp: net.c.engine.primaryIp,
    });
    expect(h.tlv(net.a.engine.nodeId.toUpperCase(), T)).toEqual(text('early'));
    const a = h.node(net.a.engine.nodeId)!;
    expect(a).toMatchObject({ name: 'a', hops: 2, compatibility: 21, primaryIp: net.a.engine.primaryIp });
    expect(a.metric).toBeGreaterThan(0);
    expect(a.via).toEqual({ dev: 'eth0', address: 'fe80::2:2' });
    expect(
      h
        .nodes()
        .map((n) => n.name)
        .sort(),
    ).toEqual(['a', 'b']);
    expect(h.node('00')).toBeUndefined();
  });

  it('events: appeared, description changed with the previous TLVs, path changed, gone', () => {
    let body = 'one';
    const pa = announcer('greet', () => body);
    const pc = announcer('greet', () => undefined);
    net.a.engine.use(pa.plugin);
    net.c.engine.use(pc.plugin);
    for (const n of net.m.nodes) n.engine.start();
    net.m.run(20_000);
    const aId = net.a.engine.nodeId;
    const forA = (type: EngineEvent['type']) =>
      pc.events.filter(
        (e) => e.type === type && ('node' in e ? e.node.id === aId : 'id' in e && e.id === aId),
      );
    expect(forA('node-appeared')).toHaveLength(1);
    expect(forA('path-changed').length).toBeGreaterThan(0);
    const first = forA('path-changed')[0] as Extract<EngineEvent, { type: 'path-changed' }>;
    expect(first.previous.metric).toBe(0);
    expect(first.node.hops).toBe(2);
    body = 'two';
    pa.host().updateDescription();
    net.m.run(30_000);
    expect(pc.seen).toContainEqual({ from: 'a', body: 'two', previous: 'one' });
    const changed = forA('description-changed').at(-1) as Extract<
      EngineEvent,
      { type: 'description-changed' }
    >;
    expect(untext(changed.tlvs.get(T))).toBe('two');
    expect(untext(changed.previous?.get(T))).toBe('one');
    // a leaves: c's plugin hears that its TLV is gone, then that the node is
    net.m.disconnect(0, 'eth0');
    net.m.run(200_000);
    expect(pc.seen.at(-1)).toEqual({ from: 'a', body: undefined, previous: 'two' });
    expect(forA('node-gone')).toHaveLength(1);
    expect(pc.host().tlv(aId, T)).toBeUndefined();
  });

  it('options reach reconfigure, per plugin; a second claimant of an option is refused', () => {
    const got: PluginSettings[] = [];
    net.a.engine.use({
      name: 'opt',
      options: [{ name: 'greeting', type: { kind: 'string' }, default: 'hi', help: 'the text to announce' }],
      attach() {},
      reconfigure: (next) => void got.push(next),
    });
    expect(() =>
      net.a.engine.use({
        name: 'other',
        options: [{ name: 'Greeting', type: { kind: 'flag' }, help: '' }],
        attach() {},
      }),
    ).toThrow(/option Greeting is claimed by opt/);
    expect(net.a.engine.pluginOptions()).toEqual([
      {
        plugin: 'opt',
        option: { name: 'greeting', type: { kind: 'string' }, default: 'hi', help: 'the text to announce' },
      },
    ]);
    net.a.engine.configurePlugins(
      new Map([
        ['greeting', { kind: 'single', value: 'moin', children: {} }],
        ['ogmInterval', { kind: 'single', value: 5000, children: {} }],
      ]),
    );
    expect(got).toEqual([new Map([['greeting', { kind: 'single', value: 'moin', children: {} }]])]);
  });

  it('tables: a plugin table lists with the core tables, an empty one shows empty', () => {
    let rows: Array<Record<string, string>> = [];
    net.a.engine.use({ name: 'tbl', attach: (h) => h.registerTable('greetings', () => rows) });
    expect(net.a.engine.tables()).toEqual([
      'status',
      'interfaces',
      'links',
      'originators',
      'credits',
      'keys',
      'trusted',
      'greetings',
    ]);
    expect(net.a.engine.show('greetings')).toEqual([]);
    rows = [{ from: 'x' }];
    expect(net.a.engine.show('greetings')).toEqual([{ from: 'x' }]);
    expect(() => net.a.engine.use({ name: 't2', attach: (h) => h.registerTable('links', () => []) })).toThrow(
      /table links exists already/,
    );
  });

  it('private files live under the plugin name; without a files port they fail clearly', () => {
    let host!: PluginHost;
    net.c.engine.use({ name: 'wg', attach: (h) => (host = h) });
    host.files.write('private.key', text('secret'));
    expect(untext(host.files.read('private.key'))).toBe('secret');
    expect(() => host.files.write('../escape', text('x'))).toThrow(/bad file name/);
    host.files.remove('private.key');
    expect(host.files.read('private.key')).toBeUndefined();
    let noFiles!: PluginHost;
    net.a.engine.use({ name: 'wg', attach: (h) => (noFiles = h) });
    expect(() => noFiles.files.read('x')).toThrow(
      'plugin wg: no files port (the engine was created without one)',
    );
  });

  it('routes a plugin sets reach the routes port and are withdrawn on stop', () => {
    let host!: PluginHost;
    net.a.engine.use({ name: 'tun', attach: (h) => (host = h) });
    net.a.engine.start();
    host.setRoutes('inet', [{ prefix: 'fd03::/64', via: 'fe80::9', dev: 'eth0', metric: 1024 }]);
    expect(net.a.routes.get('fd03::/64')).toMatchObject({ via: 'fe80::9', dev: 'eth0' });
    host.setRoutes('inet', []);
    expect(net.a.routes.has('fd03::/64')).toBe(false);
    host.setRoutes('inet', [{ prefix: 'fd03::/64', via: 'fe80::9', dev: 'eth0', metric: 1024 }]);
    net.a.engine.stop();
    expect(net.a.routes.has('fd03::/64')).toBe(false);
  });

  it('rules a plugin sets reach the rules port, are withdrawn on stop, and need a rules port', () => {
    const m = new Medium();
    const added: Rule[] = [];
    const removed: Rule[] = [];
    const n = m.add({ nodeKey: fixtureKey('n1'), hostname: 'a', linkRsaKeyMaterial: linkKey }, ['eth0'], 1, {
      rules: { add: (r) => void added.push(r), remove: (r) => void removed.push(r) },
    });
    let host!: PluginHost;
    n.engine.use({ name: 'tun', attach: (h) => (host = h) });
    n.engine.start();
    const rule: Rule = { family: 6, priority: 30000, table: 60, from: 'fd70::/16' };
    host.setRules('inet', [rule]);
    host.setRules('inet', [rule]);
    expect(added).toEqual([rule]);
    n.engine.stop();
    expect(removed).toEqual([rule]);
    let bare!: PluginHost;
    net.a.engine.use({ name: 'tun', attach: (h) => (bare = h) });
    expect(() => bare.setRules('x', [rule])).toThrow(
      'plugin tun: no rules port (the engine was created without one)',
    );
  });

  it('a plugin that throws in every callback is logged with its name and counted; the mesh still routes', () => {
    const bad: EnginePlugin = {
      name: 'bad',
      attach(h) {
        const boom = () => {
          throw new Error('bad plugin');
        };
        h.registerTlv(T, { produce: boom, consume: boom });
        h.contributeHna6(boom);
        h.on(boom);
        h.registerTable('bad', boom);
      },
      start: () => {
        throw new Error('bad start');
      },
      stop: () => {
        throw new Error('bad stop');
      },
      reconfigure: () => {
        throw new Error('bad reconfigure');
      },
    };
    const good = announcer('greet', () => 'still here');
    net.a.engine.use(good.plugin);
    net.c.engine.use(bad);
    net.b.engine.use({ ...bad, attach: bad.attach });
    for (const n of net.m.nodes) n.engine.start();
    net.m.run(20_000);
    net.c.engine.configurePlugins(new Map());
    expect(net.c.engine.show('bad')).toEqual([]);
    expect(net.c.routes.has(`${net.a.engine.primaryIp}/128`)).toBe(true);
    expect(net.a.routes.has(`${net.c.engine.primaryIp}/128`)).toBe(true);
    // b relays a's TLV although its own handler for the type throws
    expect(net.c.engine.counters().pluginErrors).toBeGreaterThan(5);
    const logged = net.m.logs.filter((l) => l.node === 2 && l.msg === 'plugin failed');
    expect(new Set(logged.map((l) => l.fields?.callback))).toEqual(
      new Set([
        'start',
        'produce TLV 30',
        'produce HNA6',
        'consume TLV 30',
        'event node-appeared',
        'event description-changed',
        'event path-changed',
        'event route-changed',
        'table bad',
        'reconfigure',
      ]),
    );
    expect(logged.every((l) => l.fields?.plugin === 'bad')).toBe(true);
    net.c.engine.stop();
    expect(net.m.logs.some((l) => l.node === 2 && l.fields?.callback === 'stop')).toBe(true);
  });
});
