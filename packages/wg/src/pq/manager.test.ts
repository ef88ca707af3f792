import {
  derivePqPsk,
  mlkemDecapsulate,
  mlkemEncapsulate,
  mlkemKeyPair,
  pqConfirmTag,
  pqTagEqual,
} from '@bmx7/crypto';
import { describe, expect, it } from 'vitest';
import { createPqManager, PQ_MAX_UNANSWERED_REKEYS } from './manager.js';
import { createMemoryPqBus } from './transport.js';

const crypto = { mlkemEncapsulate, mlkemDecapsulate, derivePqPsk, pqConfirmTag, pqTagEqual };

/** A manual clock with the core's Clock shape. */
function manualClock() {
  let now = 0;
  const timers: { at: number; fn: () => void; live: boolean }[] = [];
  return {
    now: () => now,
    schedule(ms: number, fn: () => void) {
      const t = { at: now + ms, fn, live: true };
      timers.push(t);
      return () => {
        t.live = false;
      };
    },
    async advance(ms: number) {
      const end = now + ms;
      for (;;) {
        await new Promise((r) => setTimeout(r, 0)); // deliver the bus's datagrams
        const next = timers.filter((t) => t.live && t.at <= end).sort((a, b) => a.at - b.at)[0];
        if (!next) break;
        next.live = false;
        now = next.at;
        next.fn();
      }
      now = end;
      await new Promise((r) => setTimeout(r, 0));
    },
  };
}

const id = (b: number) => Buffer.alloc(28, b).toString('hex');
const kem = (b: number) => mlkemKeyPair(new Uint8Array(64).fill(b));

describe('post-quantum PSK manager', () => {
  it('a client and a gateway agree a key over the bus, and rotate it', async () => {
    const clock = manualClock();
    const bus = createMemoryPqBus();
    const installs: string[] = [];
    const c = createPqManager({
      selfId: id(1),
      selfKem: kem(1),
      crypto,
      clock,
      transport: bus.transport('fd70::1'),
      intervalMs: 20_000,
      onInstall: (n, r) => installs.push(`c ${r} ${n.slice(0, 2)}`),
    });
    const g = createPqManager({
      selfId: id(2),
      selfKem: kem(2),
      crypto,
      clock,
      transport: bus.transport('fd70::2'),
      onInstall: (n, r) => installs.push(`g ${r} ${n.slice(0, 2)}`),
    });
    g.setPairs([{ nodeId: id(1), role: 'responder', ip: 'fd70::1', kem: kem(1).publicKey }]);
    c.setPairs([{ nodeId: id(2), role: 'initiator', ip: 'fd70::2', kem: kem(2).publicKey }]);
    await clock.advance(1000);
    const hex = (k: Uint8Array | undefined) => (k ? Buffer.from(k).toString('hex') : undefined);
    expect(hex(c.psk(id(2), 'initiator')?.psk)).toBeDefined();
    expect(hex(g.psk(id(1), 'responder')?.psk)).toBe(hex(c.psk(id(2), 'initiator')?.psk));
    expect(installs.sort()).toEqual(['c initiator 02', 'g responder 01']);
    // keys are not enumerable: JSON shows the epoch only
    expect(JSON.stringify(c.psk(id(2), 'initiator'))).toBe('{"epoch":1,"installedAt":0}');
    await clock.advance(45_000);
    expect(c.psk(id(2), 'initiator')?.epoch).toBeGreaterThanOrEqual(3);
    expect(hex(g.psk(id(1), 'responder')?.psk)).toBe(hex(c.psk(id(2), 'initiator')?.psk));
    c.close();
    g.close();
  });

  it('a gateway whose client never initiates sends a bounded number of REKEYs', async () => {
    const clock = manualClock();
    let rekeys = 0;
    const bus = createMemoryPqBus({
      filter: (_f, _t, p) => {
        if (p[5] === 4) rekeys++;
        return p;
      },
    });
    const g = createPqManager({
      selfId: id(2),
      selfKem: kem(2),
      crypto,
      clock,
      transport: bus.transport('fd70::2'),
      onInstall: () => {},
    });
    g.setPairs([{ nodeId: id(1), role: 'responder', ip: 'fd70::1', kem: kem(1).publicKey }]);
    await clock.advance(120_000);
    expect(rekeys).toBe(PQ_MAX_UNANSWERED_REKEYS);
    g.close();
  });

  it('drops datagrams for another node, from an unknown sender, or malformed', async () => {
    const clock = manualClock();
    const bus = createMemoryPqBus();
    const g = createPqManager({
      selfId: id(2),
      selfKem: kem(2),
      crypto,
      clock,
      transport: bus.transport('fd70::2'),
      onInstall: () => {
        throw new Error('nothing may be installed');
      },
    });
    g.setPairs([{ nodeId: id(1), role: 'responder', ip: 'fd70::1', kem: kem(1).publicKey }]);
    const stranger = bus.transport('fd70::9');
    stranger.send('fd70::2', new Uint8Array(100));
    stranger.send('fd70::2', new Uint8Array([0x42, 0x37, 0x50, 0x51, 1, 3]));
    await clock.advance(2000);
    expect(g.status(id(1), 'responder')?.counters.installs).toBe(0);
    g.close();
  });
});
