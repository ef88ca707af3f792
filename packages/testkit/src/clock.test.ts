import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createVirtualClock } from './clock.js';
import { SimCallbackError, SimTimeoutError, TestkitError } from './errors.js';

describe('createVirtualClock', () => {
  it('runs events in time order, equal times in scheduling order', () => {
    const clock = createVirtualClock();
    const seen: string[] = [];
    clock.schedule(20, () => seen.push('c@20'));
    clock.schedule(10, () => seen.push('a@10'));
    clock.schedule(10, () => seen.push('b@10'));
    clock.schedule(0, () => seen.push('z@0'));
    expect(clock.pending).toBe(4);
    expect(clock.advance(15)).toBe(3);
    expect(seen).toEqual(['z@0', 'a@10', 'b@10']);
    expect(clock.now()).toBe(15);
    clock.runUntilIdle();
    expect(seen).toEqual(['z@0', 'a@10', 'b@10', 'c@20']);
    expect(clock.now()).toBe(20);
    expect(clock.executed).toBe(4);
  });

  it('shows each callback the time it was due', () => {
    const clock = createVirtualClock(1000);
    const times: number[] = [];
    clock.schedule(5, () => {
      times.push(clock.now());
      clock.schedule(0, () => times.push(clock.now()));
      clock.schedule(7, () => times.push(clock.now()));
    });
    clock.runUntilIdle();
    expect(times).toEqual([1005, 1005, 1012]);
  });

  it('runs an event scheduled for the current instant after those already due then', () => {
    const clock = createVirtualClock();
    const seen: string[] = [];
    clock.schedule(1, () => {
      seen.push('first');
      clock.schedule(0, () => seen.push('zero-delay'));
    });
    clock.schedule(1, () => seen.push('second'));
    clock.runUntilIdle();
    expect(seen).toEqual(['first', 'second', 'zero-delay']);
  });

  it('cancels: idempotent, harmless after running, effective from inside the same instant', () => {
    const clock = createVirtualClock();
    const seen: string[] = [];
    const cancelA = clock.schedule(5, () => seen.push('a'));
    let cancelC = () => {};
    clock.schedule(5, () => {
      seen.push('b');
      cancelC();
    });
    cancelC = clock.schedule(5, () => seen.push('c'));
    const cancelD = clock.schedule(1, () => seen.push('d'));
    cancelA();
    cancelA();
    expect(clock.pending).toBe(3);
    clock.runUntilIdle();
    expect(seen).toEqual(['d', 'b']);
    cancelD();
    expect(clock.pending).toBe(0);
    expect(clock.nextAt()).toBeUndefined();
  });

  it('runUntil(time) stops at the time even when idle, and never goes back', () => {
    const clock = createVirtualClock();
    clock.runUntil(50);
    expect(clock.now()).toBe(50);
    clock.runUntil(10);
    expect(clock.now()).toBe(50);
    const seen: number[] = [];
    clock.schedule(10, () => seen.push(clock.now()));
    clock.schedule(30, () => seen.push(clock.now()));
    expect(clock.runUntil(60)).toBe(1);
    expect(seen).toEqual([60]);
    expect(clock.nextAt()).toBe(80);
  });

  it('runUntil(predicate) returns the first instant at which it held', () => {
    const clock = createVirtualClock();
    let count = 0;
    const tick = () => {
      count++;
      clock.schedule(100, tick);
    };
    clock.schedule(100, tick);
    expect(clock.runUntil(() => count >= 3, { timeoutMs: 10_000 })).toBe(300);
    expect(clock.now()).toBe(300);
    // Already true: returns now without running anything.
    expect(clock.runUntil(() => true, { timeoutMs: 0 })).toBe(300);
    expect(count).toBe(3);
  });

  it('runUntil(predicate) with pollMs checks on a grid of virtual time', () => {
    const clock = createVirtualClock();
    let count = 0;
    let checks = 0;
    const tick = () => {
      count++;
      clock.schedule(10, tick);
    };
    clock.schedule(10, tick);
    const at = clock.runUntil(
      () => {
        checks++;
        return count >= 25;
      },
      { timeoutMs: 10_000, pollMs: 100 },
    );
    expect(at).toBe(300);
    expect(checks).toBe(4); // at 0, 100, 200, 300
  });

  it('runUntil(predicate) throws SimTimeoutError at the deadline', () => {
    const clock = createVirtualClock();
    const tick = () => clock.schedule(10, tick);
    clock.schedule(10, tick);
    let err: unknown;
    try {
      clock.runUntil(() => false, { timeoutMs: 1000 });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SimTimeoutError);
    expect((err as SimTimeoutError).code).toBe('SIM_TIMEOUT');
    expect((err as SimTimeoutError).at).toBe(1000);
    expect(clock.now()).toBe(1000);
  });

  it('runUntilIdle refuses to spin forever', () => {
    const clock = createVirtualClock();
    const tick = () => clock.schedule(1, tick);
    clock.schedule(1, tick);
    expect(() => clock.runUntilIdle({ maxEvents: 1000 })).toThrow(
      expect.objectContaining({ code: 'SIM_EVENT_LIMIT' }),
    );
  });

  it('rejects negative, NaN and infinite delays', () => {
    const clock = createVirtualClock();
    for (const d of [-1, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => clock.schedule(d, () => {})).toThrow(TestkitError);
    }
  });

  it('post schedules like schedule, without a cancel handle', () => {
    const clock = createVirtualClock();
    const seen: string[] = [];
    clock.post(2, () => seen.push('post@2'));
    clock.schedule(2, () => seen.push('schedule@2'));
    clock.post(1, () => seen.push('post@1'));
    expect(clock.pending).toBe(3);
    clock.runUntilIdle();
    expect(seen).toEqual(['post@1', 'post@2', 'schedule@2']);
  });

  it('step runs one event at a time', () => {
    const clock = createVirtualClock();
    const seen: number[] = [];
    clock.schedule(3, () => seen.push(3));
    clock.schedule(1, () => seen.push(1));
    expect(clock.step()).toBe(true);
    expect(seen).toEqual([1]);
    expect(clock.now()).toBe(1);
    expect(clock.step()).toBe(true);
    expect(clock.step()).toBe(false);
    expect(seen).toEqual([1, 3]);
  });

  it('a disposed scope drops its pending and future timers, not the others', () => {
    const clock = createVirtualClock();
    const a = clock.scope();
    const b = clock.scope();
    const seen: string[] = [];
    a.clock.schedule(5, () => seen.push('a5'));
    a.clock.schedule(15, () => seen.push('a15'));
    const cancelB = b.clock.schedule(15, () => seen.push('b15'));
    b.clock.schedule(20, () => seen.push('b20'));
    expect(a.pending).toBe(2);
    expect(clock.pending).toBe(4);
    clock.advance(10);
    a.dispose();
    expect(a.disposed).toBe(true);
    expect(clock.pending).toBe(2);
    a.clock.schedule(1, () => seen.push('late'));
    cancelB();
    clock.runUntilIdle();
    expect(seen).toEqual(['a5', 'b20']);
    expect(a.pending).toBe(0);
    expect(b.pending).toBe(0);
    expect(clock.pending).toBe(0);
  });

  it('a labelled scope names itself and the time when one of its timers throws', () => {
    const clock = createVirtualClock();
    const boom = new RangeError('boom');
    clock.scope('n7').clock.schedule(42, () => {
      throw boom;
    });
    let err: unknown;
    try {
      clock.runUntilIdle();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SimCallbackError);
    expect(err).toMatchObject({ code: 'SIM_CALLBACK_FAILED', node: 'n7', at: 42, cause: boom });
    expect((err as Error).message).toBe('n7 threw at virtual time 42 ms: RangeError: boom');
    // Unlabelled timers throw as they are; the clock stays usable.
    clock.schedule(1, () => {
      throw boom;
    });
    expect(() => clock.runUntilIdle()).toThrow(boom);
    clock.schedule(1, () => {});
    expect(clock.runUntilIdle()).toBe(44);
  });

  it('keeps pending exact and memory bounded under heavy cancellation', () => {
    const clock = createVirtualClock();
    let ran = 0;
    const cancels: Array<() => void> = [];
    for (let i = 0; i < 100_000; i++) cancels.push(clock.schedule(i % 977, () => ran++));
    for (let i = 0; i < cancels.length; i++) if (i % 10 !== 0) cancels[i]!();
    expect(clock.pending).toBe(10_000);
    clock.runUntilIdle();
    expect(ran).toBe(10_000);
  });

  it('runs a million events of 1000 periodic timers in order', () => {
    // The shape of a 1000-node simulation: each node's timer reschedules itself with jitter.
    const clock = createVirtualClock();
    let x = 12345;
    const rand = () => {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      return x / 2 ** 32;
    };
    let last = 0;
    let inOrder = true;
    let fired = 0;
    const perNode = new Array<number>(1000).fill(0);
    for (let i = 0; i < 1000; i++) {
      const tick = () => {
        if (clock.now() < last) inOrder = false;
        last = clock.now();
        fired++;
        perNode[i]!++;
        if (fired + clock.pending < 1_000_000) clock.schedule(900 + 200 * rand(), tick);
      };
      clock.schedule(1000 * rand(), tick);
    }
    const end = clock.runUntilIdle();
    expect(inOrder).toBe(true);
    expect(fired).toBe(1_000_000);
    expect(clock.executed).toBe(1_000_000);
    // About 1000 periods of ~1 s each went by, every node kept its share.
    expect(end).toBeGreaterThan(900_000);
    expect(Math.min(...perNode)).toBeGreaterThan(900);
  }, 60_000);

  it('keeps order with ties in a heap of 200 000 pending events', () => {
    const clock = createVirtualClock();
    const n = 200_000;
    let last = -1;
    let lastSeq = -1;
    let inOrder = true;
    let x = 12345;
    for (let i = 0; i < n; i++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      const seq = i;
      clock.schedule(x % 10_000, () => {
        const t = clock.now();
        if (t < last || (t === last && seq < lastSeq)) inOrder = false;
        last = t;
        lastSeq = seq;
      });
    }
    expect(clock.pending).toBe(n);
    clock.runUntilIdle();
    expect(inOrder).toBe(true);
    expect(clock.executed).toBe(n);
  }, 60_000);

  it('matches a sorted-list model under random schedule, cancel, scope dispose, burst and advance operations', () => {
    type Op =
      | { kind: 'schedule'; delay: number; scope: number }
      | { kind: 'cancel'; pick: number }
      | { kind: 'dispose'; scope: number }
      | { kind: 'burst'; n: number; keepEvery: number }
      | { kind: 'advance'; ms: number };
    const op = fc.oneof(
      {
        arbitrary: fc.record({
          kind: fc.constant('schedule' as const),
          delay: fc.integer({ min: 0, max: 50 }),
          scope: fc.integer({ min: -1, max: 2 }),
        }),
        weight: 5,
      },
      { arbitrary: fc.record({ kind: fc.constant('cancel' as const), pick: fc.nat() }), weight: 3 },
      {
        arbitrary: fc.record({
          kind: fc.constant('dispose' as const),
          scope: fc.integer({ min: 0, max: 2 }),
        }),
        weight: 1,
      },
      {
        // Many timers, most cancelled at once: drives the heap past the compaction threshold.
        arbitrary: fc.record({
          kind: fc.constant('burst' as const),
          n: fc.integer({ min: 500, max: 1500 }),
          keepEvery: fc.integer({ min: 2, max: 7 }),
        }),
        weight: 1,
      },
      {
        arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 40 }) }),
        weight: 3,
      },
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 120 }), (ops: Op[]) => {
        const clock = createVirtualClock();
        const scopes = [clock.scope(), clock.scope(), clock.scope()];
        const disposed = [false, false, false];
        const fired: number[] = [];
        const model: { id: number; due: number; live: boolean; scope: number }[] = [];
        const modelFired: number[] = [];
        const cancels: Array<() => void> = [];
        let modelNow = 0;
        const modelRun = (limit: number) => {
          const due = model
            .filter((e) => e.live && e.due <= limit)
            .sort((a, b) => a.due - b.due || a.id - b.id);
          for (const e of due) {
            e.live = false;
            modelFired.push(e.id);
          }
          modelNow = Math.max(modelNow, limit);
        };
        const add = (delay: number, scope: number) => {
          const id = model.length;
          model.push({ id, due: modelNow + delay, live: scope < 0 || !disposed[scope], scope });
          const c = scope < 0 ? clock : scopes[scope]!.clock;
          cancels.push(c.schedule(delay, () => fired.push(id)));
        };
        for (const o of ops) {
          if (o.kind === 'schedule') {
            add(o.delay, o.scope);
          } else if (o.kind === 'cancel') {
            if (model.length === 0) continue;
            const i = o.pick % model.length;
            model[i]!.live = false;
            cancels[i]!();
          } else if (o.kind === 'dispose') {
            disposed[o.scope] = true;
            for (const e of model) if (e.scope === o.scope) e.live = false;
            scopes[o.scope]!.dispose();
          } else if (o.kind === 'burst') {
            const first = model.length;
            for (let k = 0; k < o.n; k++) add(k % 97, -1);
            for (let k = 0; k < o.n; k++) {
              if (k % o.keepEvery === 0) continue;
              model[first + k]!.live = false;
              cancels[first + k]!();
            }
          } else {
            clock.advance(o.ms);
            modelRun(modelNow + o.ms);
          }
          if (clock.pending !== model.filter((e) => e.live).length) return false;
          for (let k = 0; k < 3; k++) {
            if (scopes[k]!.pending !== model.filter((e) => e.live && e.scope === k).length) return false;
          }
        }
        clock.runUntilIdle();
        modelRun(Number.MAX_SAFE_INTEGER);
        return JSON.stringify(fired) === JSON.stringify(modelFired);
      }),
      { numRuns: 60 },
    );
  });
});
