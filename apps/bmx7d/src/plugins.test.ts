/**
 * Plugins in the daemon: their options join the option table (command line, config file, help,
 * options of absent plugins), their settings reach `reconfigure` only when they change, and their
 * tables are listed and shown by the control backend (an empty one is empty, not unknown).
 */
import { OptionError, renderHelp } from '@bmx7/control';
import { createEngine, type EnginePlugin, type PluginSettings } from '@bmx7/core';
import {
  createGreeter,
  createMemoryFiles,
  createMemoryLogger,
  createMemoryRoutes,
  createMemoryStorage,
  createSeededRandom,
  createVirtualClock,
  testRsaKey,
} from '@bmx7/testkit';
import { describe, expect, it } from 'vitest';
import { createDaemonBackend } from './control-backend.js';
import { createDaemonLogger } from './log.js';
import { daemonOptionTable, parseStartArgs } from './options.js';
import {
  BUILTIN_PLUGINS,
  checkPluginSettings,
  configurePlugins,
  optionSpecOf,
  pluginSettings,
} from './plugins.js';

const noFiles = (p: string): string => {
  throw Object.assign(new Error(`no ${p}`), { code: 'ENOENT' });
};

const optionError = (fn: () => unknown): OptionError => {
  try {
    fn();
  } catch (e) {
    if (e instanceof OptionError) return e;
    throw e;
  }
  throw new Error('no OptionError');
};

/** A plugin with the tun plugin's `tunOutTimeout` and a multi option with children. */
const tunLike: EnginePlugin = {
  name: 'tun',
  options: [
    { name: 'tunOutTimeout', type: { kind: 'int', min: 0, max: 3600000 }, default: 60000, help: 'timeout' },
    {
      name: 'tunSearch',
      multi: true,
      type: { kind: 'string', maxLength: 32 },
      children: [{ name: 'network', type: { kind: 'net' }, mandatory: true, help: 'the network' }],
      help: 'a search',
    },
  ],
  attach() {},
};

function engineWith(plugins: EnginePlugin[]) {
  const clock = createVirtualClock();
  const engine = createEngine({ nodeKey: testRsaKey('node:plugins-test'), hostname: 'p' })({
    clock,
    random: createSeededRandom('plugins'),
    datagrams: { send: () => {} },
    routes: createMemoryRoutes({ clock }),
    storage: createMemoryStorage(),
    logger: createMemoryLogger(),
    files: createMemoryFiles(),
  });
  for (const p of plugins) engine.use(p);
  return engine;
}

describe('plugins in bmx7d', () => {
  it("a plugin's options are parsed from the command line and the config file, and listed in help", () => {
    const greeter = createGreeter({ greeting: 'hi' });
    const table = daemonOptionTable([greeter, tunLike]);
    const files = { '/etc/bmx7d.conf': 'greeting=from-file\ntunSearch=inet /network=10.0.0.0/8\n' };
    const start = parseStartArgs(
      ['--config', '/etc/bmx7d.conf', 'greeting=moin', 'tunOutTimeout=1000'],
      (p) => files[p as keyof typeof files] ?? noFiles(p),
      table,
    );
    const settings = pluginSettings(start.state, [greeter, tunLike]);
    expect(settings.get('greeting')).toEqual({ kind: 'single', value: 'moin', children: {} });
    expect(settings.get('tunOutTimeout')).toEqual({ kind: 'single', value: 1000, children: {} });
    const search = settings.get('tunSearch');
    expect(search?.kind === 'multi' && [...search.instances]).toEqual([['inet', { network: '10.0.0.0/8' }]]);
    expect(renderHelp(table, { program: 'bmx7d' })).toMatch(/\n--greeting <.*>/);
    expect(renderHelp(table, { program: 'bmx7d', verbose: true })).toMatch(
      /--greeting .*\n\tthe text this node announces/,
    );
    expect(renderHelp(table, { program: 'bmx7d' })).toMatch(/\n {2}\/network /);
    // an out-of-range value is refused like any option's
    expect(optionError(() => parseStartArgs(['tunOutTimeout=-1'], noFiles, table)).option).toBe(
      'tunOutTimeout',
    );
    // a new instance without its mandatory child is refused
    expect(optionError(() => parseStartArgs(['tunSearch=x'], noFiles, table)).message).toMatch(
      /network is mandatory/,
    );
  });

  it('without the plugin its options are unknown, and an option of the absent tun plugin says so', () => {
    expect(optionError(() => parseStartArgs(['greeting=moin'])).message).toBe('greeting: unknown option');
    expect(optionError(() => parseStartArgs(['tunOutTimeout=1000'])).message).toMatch(
      /tunOutTimeout: the tun plugin providing this option is not loaded/,
    );
    // once a plugin provides it, it is an option like any other
    expect(parseStartArgs(['tunOutTimeout=1000'], noFiles, daemonOptionTable([tunLike])).state.size).toBe(1);
  });

  it('settings reach reconfigure at start, then only when they change', () => {
    const got: PluginSettings[] = [];
    const spy: EnginePlugin = {
      name: 'spy',
      options: [{ name: 'greeting', type: { kind: 'string' }, help: 'x' }],
      attach() {},
      reconfigure: (next) => void got.push(next),
    };
    const engine = engineWith([spy]);
    const table = daemonOptionTable([spy]);
    const a = parseStartArgs(['greeting=one', 'ogmInterval=5000'], noFiles, table).state;
    let before = configurePlugins(engine, a, [spy]);
    before = configurePlugins(engine, parseStartArgs(['greeting=one'], noFiles, table).state, [spy], before);
    configurePlugins(engine, parseStartArgs(['greeting=two'], noFiles, table).state, [spy], before);
    expect(got.map((g) => g.get('greeting'))).toEqual([
      { kind: 'single', value: 'one', children: {} },
      { kind: 'single', value: 'two', children: {} },
    ]);
  });

  it("the control backend lists a plugin's table and shows it empty while it has no rows", () => {
    const engine = engineWith([createGreeter({ greeting: 'hi' })]);
    const table = daemonOptionTable();
    const backend = createDaemonBackend({
      engine,
      options: table,
      absent: table,
      host: { revision: '0000000', devs: [], cpuPercent: () => 0, memKb: () => 0 },
      logger: createDaemonLogger(0, () => {}),
      version: 'bmx7d-test',
      revision: '0000000',
      config: () => new Map(),
      check: () => {},
      adopt: () => {},
      compatibility: () => 21,
    });
    expect(backend.tableNames()).toContain('greetings');
    expect(backend.table('greetings')).toMatchObject({ table: 'greetings', rows: [] });
    expect(backend.table('nosuch')).toBeUndefined();
  });

  it("a plugin's check refuses settings at start (exit 2) and at runtime, naming the option", () => {
    const picky: EnginePlugin = {
      name: 'picky',
      options: [{ name: 'greeting', type: { kind: 'string' }, help: 'x' }],
      check: (next) => {
        const g = next.get('greeting');
        return g?.kind === 'single' && g.value === 'rude' ? 'greeting: rude is not a greeting' : undefined;
      },
      attach() {},
    };
    const table = daemonOptionTable([picky]);
    expect(() =>
      checkPluginSettings(parseStartArgs(['greeting=hi'], noFiles, table).state, [picky]),
    ).not.toThrow();
    const e = optionError(() =>
      checkPluginSettings(parseStartArgs(['greeting=rude'], noFiles, table).state, [picky]),
    );
    expect([e.option, e.message]).toEqual(['greeting', 'greeting: rude is not a greeting']);
  });

  it("the tun plugin refuses a tunDevName its or crypt-tun's device names would not fit, at start and at runtime", () => {
    const table = daemonOptionTable(BUILTIN_PLUGINS);
    for (const ok of ['X7', 'Dr1'])
      expect(() =>
        checkPluginSettings(parseStartArgs([`tunDevName=${ok}`], noFiles, table).state, BUILTIN_PLUGINS),
      ).not.toThrow();
    const e = optionError(() =>
      checkPluginSettings(parseStartArgs(['tunDevName=bmx7x'], noFiles, table).state, BUILTIN_PLUGINS),
    );
    expect(e.option).toBe('tunDevName');
    expect(e.message).toMatch(/^tunDevName: at most 3 characters \("bmx7x" has 5\)/);
  });

  it('plugin options take order class 9 and go into config files', () => {
    expect(optionSpecOf('tun', tunLike.options![0]!)).toMatchObject({
      name: 'tunOutTimeout',
      category: 'tun',
      order: 9,
      config: true,
      when: 'both',
      default: 60000,
    });
  });
});
