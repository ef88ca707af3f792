import { readFileSync } from 'node:fs';
import { ip6ToString, readCapture, udp6Datagrams } from '@bmx7/codec';
import { generateRsaKey } from '@bmx7/crypto';
import { fixture } from '@bmx7/testenv/env';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ManualClock, seededRandom } from '../test/harness.js';
import { createEngine } from './engine.js';

describe('hostile input', () => {
  it('bit flips and truncations of captured packets never reach an internal error', () => {
    const cap = readCapture(new Uint8Array(readFileSync(fixture('startup.pcap'))));
    if (!cap.ok) throw new Error(cap.reason);
    const dgrams = udp6Datagrams(cap.value, 6270);
    const clock = new ManualClock();
    const errors: string[] = [];
    const engine = createEngine({ nodeKey: generateRsaKey(4), listenOnly: true, linkRsaKey: 0 })({
      clock,
      random: seededRandom(3),
      datagrams: { send: () => {} },
      routes: { set: () => {}, remove: () => {} },
      storage: { loadDescSqn: () => undefined, saveDescSqn: () => {} },
      logger: { log: (level, msg) => level === 0 && errors.push(msg) },
    });
    engine.setInterfaces([{ name: 'mon0', ifindex: 2, linkLocal: 'fe80::beef', up: true }]);
    engine.start();
    // learn the real nodes first, so mutated packets reach the deeper handlers
    for (const d of dgrams) engine.receive('mon0', ip6ToString(d.src), d.payload);
    fc.assert(
      fc.property(
        fc.nat(dgrams.length - 1),
        fc.array(fc.nat(), { minLength: 1, maxLength: 4 }),
        fc.option(fc.nat(), { nil: undefined }),
        (i, flips, cut) => {
          const d = dgrams[i]!;
          let p = d.payload.slice();
          for (const f of flips) p[f % p.length]! ^= 1 << (f % 8);
          if (cut !== undefined) p = p.subarray(0, cut % (p.length + 1));
          clock.run(clock.now() + 10);
          engine.receive('mon0', ip6ToString(d.src), p);
        },
      ),
      { numRuns: 2000, seed: 42 },
    );
    expect(errors).toEqual([]);
  });
});
