import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import {
  type ChildLike,
  createSupervisor,
  type SupervisorClock,
  type SupervisorEvent,
} from './supervisor.js';

class FakeChild extends EventEmitter implements ChildLike {
  exitCode: number | null = null;
  signalCode: NodeJS.Signals | null = null;
  signals: string[] = [];
  constructor(
    readonly pid: number,
    readonly cmd: string,
    readonly args: string[],
  ) {
    super();
  }
  kill(signal: NodeJS.Signals = 'SIGTERM') {
    this.signals.push(signal);
    queueMicrotask(() => this.die(null, signal));
    return true;
  }
  die(code: number | null, signal: NodeJS.Signals | null = null) {
    if (this.exitCode !== null || this.signalCode !== null) return;
    this.exitCode = code;
    this.signalCode = signal;
    this.emit('exit', code, signal);
  }
}

function manualClock() {
  let now = 0;
  let timers: { at: number; fn: () => void; id: number }[] = [];
  let seq = 0;
  const clock: SupervisorClock = {
    now: () => now,
    setTimeout(fn, ms) {
      const id = ++seq;
      timers.push({ at: now + ms, fn, id });
      return id;
    },
    clearTimeout(h) {
      timers = timers.filter((t) => t.id !== h);
    },
  };
  return {
    clock,
    pending: () => timers.map((t) => t.at - now).sort((a, b) => a - b),
    async advance(ms: number) {
      now += ms;
      const due = timers.filter((t) => t.at <= now);
      timers = timers.filter((t) => t.at > now);
      for (const t of due) t.fn();
      for (let i = 0; i < 10; i++) await Promise.resolve();
    },
  };
}

const flush = async () => {
  for (let i = 0; i < 10; i++) await Promise.resolve();
};

function rig(opts: { netns?: string; readyFails?: () => boolean } = {}) {
  const children: FakeChild[] = [];
  const events: SupervisorEvent[] = [];
  const log: string[] = [];
  const mc = manualClock();
  const sup = createSupervisor({
    name: 'wg0',
    netns: opts.netns,
    env: { LOG_LEVEL: 'error' },
    clock: mc.clock,
    spawn: (cmd, args) => {
      const c = new FakeChild(100 + children.length, cmd, args);
      children.push(c);
      log.push('spawn');
      return c;
    },
    async waitReady() {
      log.push('ready');
      if (opts.readyFails?.()) throw new Error('not ready');
    },
    async setUp() {
      log.push('setup');
    },
    removeSocket: () => log.push('rm-socket'),
    onEvent: (e) => events.push(e),
  });
  return { sup, children, events, log, mc };
}

describe('wireguard-go supervisor', () => {
  it('starts wireguard-go in the foreground inside the namespace, then waits and sets it up', async () => {
    const r = rig({ netns: 'blue' });
    await r.sup.start();
    expect(r.children[0]!.cmd).toBe('ip');
    expect(r.children[0]!.args).toEqual(['netns', 'exec', 'blue', 'wireguard-go', '-f', 'wg0']);
    expect(r.log).toEqual(['rm-socket', 'spawn', 'ready', 'setup']);
    expect(r.sup.pid).toBe(100);
  });

  it('restarts after an exit with doubling backoff, re-applying the setup each time', async () => {
    const r = rig();
    await r.sup.start();
    r.children[0]!.die(1);
    await flush();
    expect(r.sup.pid).toBeUndefined();
    expect(r.mc.pending()).toEqual([100]);
    await r.mc.advance(100);
    expect(r.children).toHaveLength(2);
    expect(r.children[1]!.args).toEqual(['-f', 'wg0']);
    expect(r.sup.restarts).toBe(1);
    expect(r.sup.pid).toBe(101);
    r.children[1]!.die(null, 'SIGKILL');
    await flush();
    expect(r.mc.pending()).toEqual([200]);
    await r.mc.advance(200);
    expect(r.sup.restarts).toBe(2);
    expect(r.log.filter((l) => l === 'setup')).toHaveLength(3);
    expect(r.events.map((e) => e.type)).toEqual(['started', 'exited', 'started', 'exited', 'started']);
    // After a long healthy run the backoff starts over.
    await r.mc.advance(60_000);
    r.children[2]!.die(1);
    await flush();
    expect(r.mc.pending()).toEqual([100]);
  });

  it('kills a restart that does not come up and tries again later', async () => {
    let fail = false;
    const r = rig({ readyFails: () => fail });
    await r.sup.start();
    fail = true;
    r.children[0]!.die(1);
    await flush();
    await r.mc.advance(100);
    await flush();
    expect(r.children[1]!.signals).toEqual(['SIGKILL']);
    expect(r.events.some((e) => e.type === 'restart-failed')).toBe(true);
    fail = false;
    expect(r.mc.pending()).toEqual([200]);
    await r.mc.advance(200);
    expect(r.sup.restarts).toBe(1);
    expect(r.sup.pid).toBe(102);
  });

  it('stop() ends the process with SIGTERM, cancels restarts and removes the socket; start failure leaves nothing', async () => {
    const r = rig();
    await r.sup.start();
    await r.sup.stop();
    expect(r.children[0]!.signals).toEqual(['SIGTERM']);
    expect(r.log.at(-1)).toBe('rm-socket');
    expect(r.mc.pending()).toEqual([]);
    expect(r.children).toHaveLength(1);

    const bad = rig({ readyFails: () => true });
    await expect(bad.sup.start()).rejects.toThrow('not ready');
    expect(bad.children[0]!.signals).toEqual(['SIGTERM']);
    expect(bad.mc.pending()).toEqual([]);
  });
});
