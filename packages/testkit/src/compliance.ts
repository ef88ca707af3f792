/**
 * Compliance suites for the engine's ports (STYLE.md, after js-libp2p's interface tests): the
 * behaviour every implementation of a port must have, written once and run against the
 * in-memory twins here and against the Linux adapters in apps/bmx7d. Call one inside a test
 * file; it declares a `describe` block.
 */
import type { Clock, Route, RouteKey, RoutesPort, Rule, RulesPort, StoragePort } from '@bmx7/core';
import { afterEach, describe, expect, it } from 'vitest';

export type MaybePromise<T> = T | Promise<T>;

/**
 * Opens one implementation per test and disposes of it after the test: call inside a `describe`;
 * the returned function opens it.
 */
export function underTest<T extends { dispose?(): MaybePromise<void> }>(
  make: () => MaybePromise<T>,
): () => Promise<T> {
  let current: T | undefined;
  afterEach(async () => {
    await current?.dispose?.();
    current = undefined;
  });
  return async () => {
    current = await make();
    return current;
  };
}

export interface ClockUnderTest {
  clock: Clock;
  /** Lets `ms` of the clock's time pass (a virtual clock advances; a real one sleeps). */
  advance(ms: number): MaybePromise<void>;
  dispose?(): MaybePromise<void>;
}

/** Clock: one run per schedule, never early, cancel idempotent, equal delays in order, never synchronous. */
export function describeClockCompliance(name: string, make: () => MaybePromise<ClockUnderTest>): void {
  describe(`Clock compliance: ${name}`, () => {
    const open = underTest(make);

    it('runs a timer once, not before its delay, and time never goes back', async () => {
      const { clock, advance } = await open();
      const t0 = clock.now();
      const runs: number[] = [];
      clock.schedule(20, () => runs.push(clock.now()));
      expect(runs).toEqual([]);
      await advance(5);
      expect(runs).toEqual([]);
      await advance(40);
      expect(runs).toHaveLength(1);
      expect(runs[0]! - t0).toBeGreaterThanOrEqual(20);
      expect(clock.now()).toBeGreaterThanOrEqual(runs[0]!);
    });

    it('never runs a zero-delay timer inside schedule', async () => {
      const { clock, advance } = await open();
      let ran = false;
      clock.schedule(0, () => {
        ran = true;
      });
      expect(ran).toBe(false);
      await advance(5);
      expect(ran).toBe(true);
    });

    it('cancel prevents the run, is idempotent, and is harmless after the run', async () => {
      const { clock, advance } = await open();
      let a = 0;
      let b = 0;
      const cancelA = clock.schedule(10, () => a++);
      const cancelB = clock.schedule(10, () => b++);
      cancelA();
      cancelA();
      await advance(30);
      cancelB();
      expect([a, b]).toEqual([0, 1]);
    });

    it('runs timers of equal delay in the order they were scheduled', async () => {
      const { clock, advance } = await open();
      const order: number[] = [];
      for (let i = 0; i < 5; i++) clock.schedule(10, () => order.push(i));
      await advance(30);
      expect(order).toEqual([0, 1, 2, 3, 4]);
    });
  });
}

export interface StorageUnderTest {
  storage: StoragePort;
  /** The same storage opened again, as after a restart. */
  reopen(): MaybePromise<StoragePort>;
  dispose?(): MaybePromise<void>;
}

/** StoragePort: empty at first, last write wins, survives a reopen. */
export function describeStorageCompliance(name: string, make: () => MaybePromise<StorageUnderTest>): void {
  describe(`StoragePort compliance: ${name}`, () => {
    let current: StorageUnderTest | undefined;
    afterEach(async () => {
      await current?.dispose?.();
      current = undefined;
    });

    it('has no descSqn when fresh, then the last one saved', async () => {
      current = await make();
      expect(current.storage.loadDescSqn()).toBeUndefined();
      current.storage.saveDescSqn(100);
      current.storage.saveDescSqn(4_000_000_000);
      expect(current.storage.loadDescSqn()).toBe(4_000_000_000);
    });

    it('keeps the value across a reopen', async () => {
      current = await make();
      current.storage.saveDescSqn(700);
      const again = await current.reopen();
      expect(again.loadDescSqn()).toBe(700);
    });
  });
}

export interface RoutesUnderTest {
  routes: RoutesPort;
  /**
   * Every route the port put in, in every table (e.g. read back from the kernel), normalised:
   * `table` left out when it is the port's table, `type` when it is `unicast`.
   */
  read(): MaybePromise<Route[]>;
  /** A next hop and device the implementation can install routes over. */
  via: string;
  dev: string;
  /** An IPv4 next hop on `dev` (IPv4 gateway routes are skipped without it). */
  via4?: string;
  /** Local IPv4 and IPv6 addresses for `src` (the preferred-source cases are skipped without them). */
  src4?: string;
  src6?: string;
  dispose?(): MaybePromise<void>;
}

/** Another table than the port's own, for the cases with two tables. */
const OTHER_TABLE = 100;

/**
 * RoutesPort: a route is identified by (family, table, prefix, metric), as in the kernel: `set`
 * adds or replaces by that key, `removeKey` removes by it (every metric when none is given),
 * `remove(prefix)` removes every metric of a prefix in the port's table, and removing what is
 * absent is a no-op.
 */
export function describeRoutesCompliance(name: string, make: () => MaybePromise<RoutesUnderTest>): void {
  describe(`RoutesPort compliance: ${name}`, () => {
    const open = underTest(make);
    const sorted = (routes: Route[]) =>
      [...routes].sort((a, b) =>
        `${a.table ?? ''} ${a.prefix} ${a.metric}` < `${b.table ?? ''} ${b.prefix} ${b.metric}` ? -1 : 1,
      );
    const prefixes = async (u: RoutesUnderTest) => (await u.read()).map((r) => r.prefix).sort();
    const removeKey = (u: RoutesUnderTest, key: RouteKey) => {
      if (!u.routes.removeKey) throw new Error('the port has no removeKey');
      u.routes.removeKey(key);
    };

    it('adds, replaces by (prefix, metric), keeps other metrics apart and removes', async () => {
      const u = await open();
      const a = 'fd70:0:0:0:0:0:0:a/128';
      u.routes.set({ prefix: a, via: u.via, dev: u.dev, metric: 1024 });
      u.routes.set({ prefix: 'fd70::b/128', via: u.via, dev: u.dev, metric: 1024 });
      expect(await prefixes(u)).toEqual(['fd70::a/128', 'fd70::b/128']);
      u.routes.set({ prefix: 'fd70::a/128', via: u.via, dev: u.dev, metric: 2048 });
      u.routes.set({ prefix: 'fd70::a/128', dev: u.dev, metric: 1024 }); // replaces the one via u.via
      expect(sorted((await u.read()).filter((r) => r.prefix === 'fd70::a/128'))).toEqual([
        { prefix: 'fd70::a/128', dev: u.dev, metric: 1024 },
        { prefix: 'fd70::a/128', via: u.via, dev: u.dev, metric: 2048 },
      ]);
      removeKey(u, { prefix: 'fd70::a/128', metric: 1024 });
      expect((await u.read()).filter((r) => r.prefix === 'fd70::a/128')).toEqual([
        { prefix: 'fd70::a/128', via: u.via, dev: u.dev, metric: 2048 },
      ]);
      u.routes.set({ prefix: 'fd70::a/128', via: u.via, dev: u.dev, metric: 1024 });
      u.routes.remove('fd70::a/128'); // every metric
      expect(await prefixes(u)).toEqual(['fd70::b/128']);
    });

    it('takes networks as well as hosts, and ignores removing what is absent', async () => {
      const u = await open();
      u.routes.set({ prefix: 'fd01:2::/64', via: u.via, dev: u.dev, metric: 1024 });
      expect(() => u.routes.remove('fd70::dead/128')).not.toThrow();
      expect(() => removeKey(u, { prefix: 'fd01:2::/64', metric: 7 })).not.toThrow();
      expect(() => removeKey(u, { prefix: 'fd01:2::/64', table: OTHER_TABLE })).not.toThrow();
      expect(await prefixes(u)).toEqual(['fd01:2::/64']);
      u.routes.remove('fd01:2::/64');
      u.routes.remove('fd01:2::/64');
      expect(await u.read()).toEqual([]);
    });

    it('keeps the same prefix in two tables apart', async () => {
      const u = await open();
      u.routes.set({ prefix: 'fd02::/64', via: u.via, dev: u.dev, metric: 1024 });
      u.routes.set({ prefix: 'fd02::/64', dev: u.dev, metric: 1024, table: OTHER_TABLE });
      expect(sorted(await u.read())).toEqual([
        { prefix: 'fd02::/64', via: u.via, dev: u.dev, metric: 1024 },
        { prefix: 'fd02::/64', dev: u.dev, metric: 1024, table: OTHER_TABLE },
      ]);
      u.routes.remove('fd02::/64'); // the port's table only
      expect(await u.read()).toEqual([{ prefix: 'fd02::/64', dev: u.dev, metric: 1024, table: OTHER_TABLE }]);
      removeKey(u, { prefix: 'fd02::/64', table: OTHER_TABLE });
      expect(await u.read()).toEqual([]);
    });

    it('routes IPv4: device routes, gateways, other tables', async () => {
      const u = await open();
      u.routes.set({ prefix: '10.70.0.0/16', dev: u.dev, metric: 0 });
      u.routes.set({ prefix: '10.70.0.0/16', dev: u.dev, metric: 10, table: OTHER_TABLE });
      const want: Route[] = [
        { prefix: '10.70.0.0/16', dev: u.dev, metric: 0 },
        { prefix: '10.70.0.0/16', dev: u.dev, metric: 10, table: OTHER_TABLE },
      ];
      if (u.via4) {
        u.routes.set({ prefix: '10.71.0.0/16', via: u.via4, dev: u.dev, metric: 5 });
        want.push({ prefix: '10.71.0.0/16', via: u.via4, dev: u.dev, metric: 5 });
      }
      expect(sorted(await u.read())).toEqual(sorted(want));
      removeKey(u, { prefix: '10.70.0.0/16', table: OTHER_TABLE, metric: 10 });
      u.routes.remove('10.71.0.0/16');
      expect(await u.read()).toEqual([{ prefix: '10.70.0.0/16', dev: u.dev, metric: 0 }]);
      removeKey(u, { prefix: '10.70.0.0/16', metric: 0 });
      expect(await u.read()).toEqual([]);
    });

    it('takes unreachable and blackhole routes, and a preferred source', async () => {
      const u = await open();
      const want: Route[] = [
        { prefix: 'fd03::/48', metric: 4096, table: OTHER_TABLE, type: 'unreachable' },
        { prefix: '10.72.0.0/16', metric: 9, type: 'blackhole' },
      ];
      for (const r of want) u.routes.set(r);
      if (u.src6) {
        const r: Route = { prefix: 'fd04::/64', via: u.via, dev: u.dev, metric: 1024, src: u.src6 };
        u.routes.set(r);
        want.push(r);
      }
      if (u.src4) {
        const r: Route = { prefix: '10.73.0.0/16', dev: u.dev, metric: 0, src: u.src4 };
        u.routes.set(r);
        want.push(r);
      }
      expect(sorted(await u.read())).toEqual(sorted(want));
      for (const r of want) removeKey(u, r);
      expect(await u.read()).toEqual([]);
    });
  });
}

export interface RulesUnderTest {
  rules: RulesPort;
  /** The rules the port put in (e.g. the kernel's, without the ones every namespace starts with). */
  read(): MaybePromise<Rule[]>;
  dispose?(): MaybePromise<void>;
}

/** RulesPort: add is idempotent, every field is part of a rule's identity, remove removes exactly one. */
export function describeRulesCompliance(name: string, make: () => MaybePromise<RulesUnderTest>): void {
  describe(`RulesPort compliance: ${name}`, () => {
    let current: RulesUnderTest | undefined;
    afterEach(async () => {
      await current?.dispose?.();
      current = undefined;
    });
    const key = (r: Rule) =>
      `${r.family} ${r.priority} ${r.from ?? ''} ${r.to ?? ''} ${r.iif ?? ''} ${r.oif ?? ''}`;
    const sorted = (rules: Rule[]) => [...rules].sort((a, b) => (key(a) < key(b) ? -1 : 1));

    it('adds once, tells rules apart by every field, removes exactly the one named', async () => {
      current = await make();
      const { rules } = current;
      const main: Rule = { family: 6, priority: 70, table: 70 };
      const from4: Rule = { family: 4, priority: 6000, table: 60, from: '10.1.0.0/16' };
      const fromTo4: Rule = { ...from4, to: '10.9.0.0/16' };
      const to6: Rule = { family: 6, priority: 6000, table: 60, to: 'fd70::/16' };
      for (const r of [main, from4, fromTo4, to6, main, { ...from4 }]) rules.add(r);
      expect(sorted(await current.read())).toEqual(sorted([main, from4, fromTo4, to6]));
      rules.remove(from4);
      expect(sorted(await current.read())).toEqual(sorted([main, fromTo4, to6]));
      expect(() => rules.remove(from4)).not.toThrow();
      for (const r of [main, fromTo4, to6]) rules.remove(r);
      expect(await current.read()).toEqual([]);
    });

    it('selects by input and output interface', async () => {
      current = await make();
      const iif: Rule = { family: 6, priority: 100, table: 100, iif: 'lo' };
      const oif: Rule = { family: 4, priority: 101, table: 100, oif: 'lo', to: '10.5.0.0/16' };
      current.rules.add(iif);
      current.rules.add(oif);
      expect(sorted(await current.read())).toEqual(sorted([iif, oif]));
      current.rules.remove(iif);
      current.rules.remove(oif);
      expect(await current.read()).toEqual([]);
    });
  });
}
