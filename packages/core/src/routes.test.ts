import { describe, expect, it } from 'vitest';
import type { Route, RouteKey, Rule } from './ports.js';
import { RouteExport, RuleExport, routeIdentity, ruleIdentity } from './routes.js';

function recorder() {
  const calls: string[] = [];
  const port = {
    set: (r: Route) =>
      calls.push(`set ${r.table ?? '-'} ${r.prefix} ${r.metric} ${r.via ?? r.type ?? 'dev'}`),
    remove: (prefix: string) => calls.push(`rm ${prefix}`),
    removeKey: (k: RouteKey) => calls.push(`rm ${k.table ?? '-'} ${k.prefix} ${k.metric}`),
  };
  return { calls, port };
}
const r = (prefix: string, via: string, more: Partial<Route> = {}): Route => ({
  prefix,
  via,
  dev: 'eth0',
  metric: 1024,
  ...more,
});

describe('RouteExport', () => {
  it('sets, moves and withdraws routes with the fewest port calls', () => {
    const { calls, port } = recorder();
    const ex = new RouteExport(port);
    ex.setOwner('a', [r('fd70::1/128', 'fe80::1'), r('fd00::/64', 'fe80::1')]);
    ex.setOwner('a', [r('fd70::1/128', 'fe80::1'), r('fd00::/64', 'fe80::1')]);
    ex.setOwner('a', [r('fd70::1/128', 'fe80::2')]);
    ex.setOwner('a', []);
    expect(calls).toEqual([
      'set - fd70::1/128 1024 fe80::1',
      'set - fd00::/64 1024 fe80::1',
      'set - fd70::1/128 1024 fe80::2',
      'rm - fd00::/64 1024',
      'rm - fd70::1/128 1024',
    ]);
    expect(ex.size).toBe(0);
  });

  it('keys routes by (family, table, prefix, metric): same prefix in two tables, or with two metrics, are two routes', () => {
    const { calls, port } = recorder();
    const ex = new RouteExport(port);
    ex.setOwner('engine', [r('fd70::1/128', 'fe80::1')]);
    ex.setOwner('tun', [
      r('fd70::1/128', 'fe80::1', { table: 60 }),
      { prefix: '10.0.0.0/8', dev: 'X7out', metric: 1024, table: 60 },
      { prefix: '10.0.0.0/8', type: 'unreachable', table: 60, metric: 4000 },
    ]);
    expect(ex.size).toBe(4);
    // a metric change is a new route first, then the old one goes (no gap)
    ex.setOwner('engine', [r('fd70::1/128', 'fe80::1', { metric: 2048 })]);
    ex.setOwner('tun', []);
    expect(calls).toEqual([
      'set - fd70::1/128 1024 fe80::1',
      'set 60 fd70::1/128 1024 fe80::1',
      'set 60 10.0.0.0/8 1024 dev',
      'set 60 10.0.0.0/8 4000 unreachable',
      'set - fd70::1/128 2048 fe80::1',
      'rm - fd70::1/128 1024',
      'rm 60 fd70::1/128 1024',
      'rm 60 10.0.0.0/8 1024',
      'rm 60 10.0.0.0/8 4000',
    ]);
    expect(ex.routes()).toEqual([r('fd70::1/128', 'fe80::1', { metric: 2048 })]);
  });

  it('two owners of one route: the last to ask is exported, the other comes back when it withdraws', () => {
    const { calls, port } = recorder();
    const ex = new RouteExport(port);
    ex.setOwner('a', [r('fd00::/64', 'fe80::1')]);
    ex.setOwner('b', [r('fd00::/64', 'fe80::2')]);
    ex.setOwner('a', [r('fd00::/64', 'fe80::1')]); // unchanged: b stays exported
    expect(ex.size).toBe(1);
    ex.setOwner('b', []);
    ex.setOwner('a', []);
    ex.setOwner('b', [r('fd00::/64', 'fe80::2')]);
    ex.setOwner('a', [r('fd00::/64', 'fe80::2')]); // the same route: nothing to do
    ex.setOwner('b', []); // a still wants it
    expect(ex.size).toBe(1);
    ex.clear();
    expect(calls).toEqual([
      'set - fd00::/64 1024 fe80::1',
      'set - fd00::/64 1024 fe80::2',
      'set - fd00::/64 1024 fe80::1',
      'rm - fd00::/64 1024',
      'set - fd00::/64 1024 fe80::2',
      'rm - fd00::/64 1024',
    ]);
    expect(ex.size).toBe(0);
  });

  it('ports without removeKey get remove(prefix), as before', () => {
    const calls: string[] = [];
    const ex = new RouteExport({
      set: (x) => calls.push(`set ${x.prefix}`),
      remove: (p) => calls.push(`rm ${p}`),
    });
    ex.setOwner('a', [r('fd70::1/128', 'fe80::1')]);
    ex.clear();
    expect(calls).toEqual(['set fd70::1/128', 'rm fd70::1/128']);
  });

  it('identities follow the kernel', () => {
    expect(routeIdentity(r('fd00::/64', 'fe80::1'))).toBe('6  fd00::/64 1024');
    expect(routeIdentity(r('10.1.0.0/16', '10.0.0.1', { table: 100, metric: 0 }))).toBe(
      '4 100 10.1.0.0/16 0',
    );
    expect(ruleIdentity({ family: 4, priority: 70, table: 70, from: '10.0.0.0/8' })).toBe(
      '4 70 70 10.0.0.0/8 * * *',
    );
  });
});

describe('RuleExport', () => {
  it('adds and removes rules by their every field, shared rules once', () => {
    const calls: string[] = [];
    const ex = new RuleExport({
      add: (x: Rule) => calls.push(`add ${ruleIdentity(x)}`),
      remove: (x: Rule) => calls.push(`del ${ruleIdentity(x)}`),
    });
    const main: Rule = { family: 6, priority: 70, table: 70 };
    const from: Rule = { family: 4, priority: 6000, table: 60, from: '10.1.0.0/16' };
    ex.setOwner('daemon', [main]);
    ex.setOwner('tun', [from, { ...from, to: '10.9.0.0/16' }, { ...main }]);
    ex.setOwner('tun', [from, { ...main }]);
    ex.setOwner('daemon', []);
    expect(ex.rules()).toHaveLength(2);
    ex.clear();
    expect(calls).toEqual([
      'add 6 70 70 * * * *',
      'add 4 6000 60 10.1.0.0/16 * * *',
      'add 4 6000 60 10.1.0.0/16 10.9.0.0/16 * *',
      'del 4 6000 60 10.1.0.0/16 10.9.0.0/16 * *',
      'del 6 70 70 * * * *',
      'del 4 6000 60 10.1.0.0/16 * * *',
    ]);
    expect(ex.size).toBe(0);
  });
});
