import { describe, expect, it } from 'vitest';
import { createVirtualClock } from './clock.js';
import { createMemoryLogger, formatLogLine } from './logger.js';
import { createMemoryRoutes, type RouteChange } from './routes.js';
import { createMemoryRules } from './rules.js';
import { createMemoryStorage } from './storage.js';

describe('createMemoryRoutes', () => {
  it('keeps a table by canonical prefix and logs every change with its time', () => {
    const clock = createVirtualClock(500);
    const routes = createMemoryRoutes({ clock });
    const heard: RouteChange[] = [];
    const off = routes.onChange((c) => heard.push(c));
    routes.set({ prefix: 'FD70::0001/128', via: 'FE80::2', dev: 'eth0', metric: 1024 });
    expect(routes.get('fd70::1/128')).toEqual({
      prefix: 'fd70::1/128',
      via: 'fe80::2',
      dev: 'eth0',
      metric: 1024,
    });
    routes.set({ prefix: 'fd70::1/128', via: 'fe80::3', dev: 'eth1', metric: 1024 });
    routes.remove('fd70:0::1/128');
    routes.remove('fd70::9/128'); // absent: no-op, not logged
    expect(routes.table.size).toBe(0);
    expect(routes.changes.map((c) => [c.op, c.prefix, c.previous?.via, c.at])).toEqual([
      ['set', 'fd70::1/128', undefined, 500],
      ['set', 'fd70::1/128', 'fe80::2', 500],
      ['remove', 'fd70::1/128', 'fe80::3', 500],
    ]);
    expect(heard).toHaveLength(3);
    expect(routes.version).toBe(3);
    off();
    routes.set({ prefix: 'fd70::2/128', via: 'fe80::2', dev: 'eth0', metric: 1 });
    expect(heard).toHaveLength(3);
    routes.clearChanges();
    expect(routes.changes).toHaveLength(0);
    expect(routes.version).toBe(4);
  });

  it('lists sorted, bounds the change log, and flushes silently', () => {
    const routes = createMemoryRoutes({ maxChanges: 5 });
    for (let i = 20; i > 0; i--)
      routes.set({ prefix: `fd70::${i.toString(16)}/128`, via: 'fe80::1', dev: 'e', metric: 1 });
    expect(routes.list()[0]!.prefix).toBe('fd70::1/128');
    expect(routes.changes).toHaveLength(5);
    expect(routes.changes.at(-1)!.prefix).toBe('fd70::1/128');
    routes.flush();
    expect(routes.table.size).toBe(0);
    expect(routes.version).toBe(20);
  });
});

describe('createMemoryRoutes tables and metrics', () => {
  it('keeps routes by (family, table, prefix, metric); `table` and `get` show what the kernel would use', () => {
    const routes = createMemoryRoutes();
    routes.set({ prefix: 'fd70::1/128', via: 'fe80::2', dev: 'eth0', metric: 2048 });
    routes.set({ prefix: 'fd70::1/128', via: 'fe80::3', dev: 'eth0', metric: 1024 });
    routes.set({ prefix: 'fd70::1/128', dev: 'X7out', metric: 1, table: 60 });
    routes.set({ prefix: '10.0.0.0/8', dev: 'X7out', metric: 0, table: 70 }); // the port's table by number
    expect(routes.table.get('fd70::1/128')?.via).toBe('fe80::3');
    expect(routes.get('fd70::1/128', 60)).toEqual({
      prefix: 'fd70::1/128',
      dev: 'X7out',
      metric: 1,
      table: 60,
    });
    expect(routes.get('10.0.0.0/8')).toEqual({ prefix: '10.0.0.0/8', dev: 'X7out', metric: 0 });
    routes.removeKey({ prefix: 'fd70::1/128', metric: 1024 });
    expect(routes.table.get('fd70::1/128')?.via).toBe('fe80::2');
    expect(routes.changes.map((c) => [c.op, c.table])).toEqual([
      ['set', undefined],
      ['set', undefined],
      ['set', 60],
      ['set', undefined],
      ['remove', undefined],
    ]);
    routes.remove('fd70::1/128');
    expect(routes.list().map((r) => r.prefix)).toEqual(['10.0.0.0/8', 'fd70::1/128']);
  });
});

describe('createMemoryRules', () => {
  it('adds a rule once, canonical, and logs adds and removes', () => {
    const rules = createMemoryRules();
    rules.add({ family: 6, priority: 70, table: 70, from: 'FD70:0::/16' });
    rules.add({ family: 6, priority: 70, table: 70, from: 'fd70::/16' });
    rules.add({ family: 4, priority: 6, table: 60, to: '10.0.0.1' });
    expect(rules.list()).toEqual([
      { family: 4, priority: 6, table: 60, to: '10.0.0.1/32' },
      { family: 6, priority: 70, table: 70, from: 'fd70::/16' },
    ]);
    expect(rules.has({ family: 4, priority: 6, table: 60, to: '10.0.0.1/32' })).toBe(true);
    rules.remove({ family: 4, priority: 6, table: 60, to: '10.0.0.1/32' });
    rules.remove({ family: 4, priority: 6, table: 60, to: '10.0.0.1/32' });
    expect(rules.changes.map((c) => c.op)).toEqual(['add', 'add', 'remove']);
    expect(() => rules.add({ family: 4, priority: 1, table: 1, from: 'fd70::/16' })).toThrow(RangeError);
  });
});

describe('createMemoryStorage', () => {
  it('loads what was saved and records the writes', () => {
    const s = createMemoryStorage();
    expect(s.loadDescSqn()).toBeUndefined();
    s.saveDescSqn(100);
    s.saveDescSqn(200);
    expect(s.loadDescSqn()).toBe(200);
    expect(s.writes).toEqual([100, 200]);
    expect(createMemoryStorage({ descSqn: 7 }).loadDescSqn()).toBe(7);
  });
});

describe('createMemoryLogger', () => {
  it('keeps lines at or below its level, with time and fields', () => {
    const clock = createVirtualClock(1234);
    const echoed: string[] = [];
    const log = createMemoryLogger({ level: 3, clock, echo: (l) => echoed.push(l), prefix: 'n1 ' });
    log.log(0, 'started', { port: 6270 });
    log.log(3, 'link up', { dev: 'eth0' });
    log.log(4, 'verbose');
    log.log(12, 'dump');
    expect(log.lines.map((l) => l.msg)).toEqual(['started', 'link up']);
    expect(log.lines[0]).toEqual({ level: 0, msg: 'started', fields: { port: 6270 }, at: 1234 });
    expect(echoed).toEqual(['1.234 n1 [0] started {"port":6270}', '1.234 n1 [3] link up {"dev":"eth0"}']);
    expect(log.find('link')).toHaveLength(1);
    expect(log.find(/^st/)).toHaveLength(1);
    expect(log.mentions('eth0')).toBe(true);
    expect(log.mentions('secret')).toBe(false);
    log.clear();
    expect(log.lines).toHaveLength(0);
  });

  it('formats bigints and bytes in fields, and bounds its memory', () => {
    expect(formatLogLine({ level: 8, msg: 'm', fields: { n: 5n, b: new Uint8Array([1, 255]) } })).toBe(
      '[8] m {"n":"5","b":"01ff"}',
    );
    const log = createMemoryLogger({ maxLines: 3 });
    for (let i = 0; i < 10; i++) log.log(0, `l${i}`);
    expect(log.lines.map((l) => l.msg)).toEqual(['l7', 'l8', 'l9']);
  });
});
