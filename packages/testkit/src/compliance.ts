/**
 * Compliance suites for the engine's ports (STYLE.md, after js-libp2p's interface tests): the
 * behaviour every implementation of a port must have, written once and run against the
 * in-memory twins here and against the Linux adapters in apps/bmx7d. Call one inside a test
 * file; it declares a `describe` block.
 */
import type { Clock, Route, RoutesPort, StoragePort } from '@bmx7/core';
import { afterEach, describe, expect, it } from 'vitest';

type MaybePromise<T> = T | Promise<T>;

export interface ClockUnderTest {
  clock: Clock;
  /** Lets `ms` of the clock's time pass (a virtual clock advances; a real one sleeps). */
  advance(ms: number): MaybePromise<void>;
  dispose?(): MaybePromise<void>;
}

/** Clock: one run per schedule, never early, cancel idempotent, equal delays in order, never synchronous. */
export function describeClockCompliance(name: string, make: () => MaybePromise<ClockUnderTest>): void {
  describe(`Clock compliance: ${name}`, () => {
    let current: ClockUnderTest | undefined;
    const open = async () => {
      current = await make();
      return current;
    };
    afterEach(async () => {
      await current?.dispose?.();
      current = undefined;
    });

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
  /** The routes as installed (e.g. read back from the kernel table). */
  read(): MaybePromise<Route[]>;
  /** A next hop and device the implementation can install routes over. */
  via: string;
  dev: string;
  dispose?(): MaybePromise<void>;
}

/** RoutesPort: set adds or replaces by prefix, remove removes, removing what is absent is a no-op. */
export function describeRoutesCompliance(name: string, make: () => MaybePromise<RoutesUnderTest>): void {
  describe(`RoutesPort compliance: ${name}`, () => {
    let current: RoutesUnderTest | undefined;
    const open = async () => {
      current = await make();
      return current;
    };
    afterEach(async () => {
      await current?.dispose?.();
      current = undefined;
    });
    const prefixes = async (u: RoutesUnderTest) => (await u.read()).map((r) => r.prefix).sort();

    it('adds, replaces by prefix and removes', async () => {
      const u = await open();
      const a = 'fd70:0:0:0:0:0:0:a/128';
      u.routes.set({ prefix: a, via: u.via, dev: u.dev, metric: 1024 });
      u.routes.set({ prefix: 'fd70::b/128', via: u.via, dev: u.dev, metric: 1024 });
      expect(await prefixes(u)).toEqual(['fd70::a/128', 'fd70::b/128']);
      u.routes.set({ prefix: 'fd70::a/128', via: u.via, dev: u.dev, metric: 2048 });
      const routes = await u.read();
      expect(routes.filter((r) => r.prefix === 'fd70::a/128')).toEqual([
        { prefix: 'fd70::a/128', via: u.via, dev: u.dev, metric: 2048 },
      ]);
      u.routes.remove('fd70::a/128');
      expect(await prefixes(u)).toEqual(['fd70::b/128']);
    });

    it('takes networks as well as hosts, and ignores removing what is absent', async () => {
      const u = await open();
      u.routes.set({ prefix: 'fd01:2::/64', via: u.via, dev: u.dev, metric: 1024 });
      expect(() => u.routes.remove('fd70::dead/128')).not.toThrow();
      expect(await prefixes(u)).toEqual(['fd01:2::/64']);
      u.routes.remove('fd01:2::/64');
      u.routes.remove('fd01:2::/64');
      expect(await u.read()).toEqual([]);
    });
  });
}
