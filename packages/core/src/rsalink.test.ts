import { readFileSync } from 'node:fs';
import { decodePacket, ip6ToString, readCapture, udp6Datagrams } from '@bmx7/codec';
import { generateRsaKey } from '@bmx7/crypto';
import { fixture } from '@bmx7/testenv/env';
import { describe, expect, it } from 'vitest';
import { ManualClock, seededRandom } from '../test/harness.js';
import { createEngine } from './engine.js';

const N1 = '0c476241';
const N2 = 'c6792132';
const N3 = '6484b2ed';

describe('silent listener on rsalink.pcap (RSA link signatures)', () => {
  it('verifies the signed packets and learns all three descriptions', () => {
    const cap = readCapture(new Uint8Array(readFileSync(fixture('rsalink.pcap'))));
    if (!cap.ok) throw new Error(cap.reason);
    const dgrams = udp6Datagrams(cap.value, 6270);
    const clock = new ManualClock();
    const sent: Uint8Array[] = [];
    const engine = createEngine({ nodeKey: generateRsaKey(4), listenOnly: true, linkRsaKey: 0 })({
      clock,
      random: seededRandom(7),
      datagrams: { send: (_i, p) => sent.push(p) },
      routes: { set: () => {}, remove: () => {} },
      storage: { loadDescSqn: () => undefined, saveDescSqn: () => {} },
      logger: { log: () => {} },
    });
    engine.setInterfaces([{ name: 'mon0', ifindex: 2, linkLocal: 'fe80::beef', up: true }]);
    engine.start();
    const t0 = dgrams[0]!.time;
    let signedAfterKnown = 0;
    const verifiedBefore: number[] = [];
    for (const d of dgrams) {
      clock.run(Math.round((d.time - t0) * 1000));
      const p = decodePacket(d.payload);
      expect(p.ok).toBe(true);
      const sender = p.ok ? Buffer.from(p.value.header.nodeId).toString('hex') : '';
      const known = engine.keyState(sender) === 'neighbor';
      const before = engine.counters().rxVerified;
      engine.receive('mon0', ip6ToString(d.src), d.payload);
      if (known && p.ok && p.value.signature) {
        signedAfterKnown++;
        verifiedBefore.push(engine.counters().rxVerified - before);
      }
    }
    const c = engine.counters();
    expect(c.rxAuthFailed).toBe(0);
    // every RSA-signed packet verifies, at once or once its sender's description is known (the
    // few DHM-MAC packets n2 still sent to n1's previous key are pairwise: no third party can)
    const rsaSigned = dgrams.filter((d) => {
      const p = decodePacket(d.payload);
      return (
        p.ok &&
        p.value.frames.some((f) => f.type === 8 && f.messages.some((x) => x.keyType >= 4 && x.keyType <= 6))
      );
    }).length;
    expect(rsaSigned).toBeGreaterThan(55);
    expect(c.rxVerified + c.rxVerifiedLate).toBe(rsaSigned);
    // once a sender's description is held, every one of its signed packets verifies
    expect(signedAfterKnown).toBeGreaterThanOrEqual(58);
    expect(verifiedBefore.every((v) => v === 1)).toBe(true);
    const names = engine.nodes().map((n) => [n.id.slice(0, 8), n.name]);
    expect(Object.fromEntries(names)).toMatchObject({ [N1]: 'ref-n1', [N2]: 'ref-n2', [N3]: 'ref-n3' });
    expect(sent).toHaveLength(0);
  });
});
