import { encodePacketLayout, FRAME_TYPE, packetHeader } from '@bmx7/codec';
import { beforeAll, describe, expect, it } from 'vitest';
import { fixtureKey, Medium } from '../test/harness.js';
import { countPacketFrames, DROP_REASONS, newTrafficCounters } from './traffic.js';

describe('countPacketFrames', () => {
  it('counts each frame of an encoded packet under its type, header bytes included', () => {
    const c = newTrafficCounters();
    const { bytes } = encodePacketLayout(packetHeader(new Uint8Array(28)), [
      { type: FRAME_TYPE.HELLO_ADV, helloSqn: 7 },
      { type: FRAME_TYPE.HELLO_ADV, helloSqn: 8 },
    ]);
    countPacketFrames(c.tx, bytes);
    expect(c.tx.frames[FRAME_TYPE.HELLO_ADV]).toBe(2);
    expect(c.tx.bytes[FRAME_TYPE.HELLO_ADV]).toBe(bytes.length - 30);
    expect(c.tx.frames.reduce((a, b) => a + b)).toBe(2);
  });

  it('stops at a frame header that does not fit (length 0, or past the end)', () => {
    const c = newTrafficCounters();
    const p = new Uint8Array(40);
    countPacketFrames(c.rx, p); // a zero header: length 0
    p[30] = (FRAME_TYPE.HELLO_ADV << 3) | 0x07; // length 0x7xx: past the end
    p[31] = 0xff;
    countPacketFrames(c.rx, p);
    expect(c.rx.frames.every((n) => n === 0)).toBe(true);
  });
});

describe('engine traffic counters', () => {
  let m: Medium;
  beforeAll(() => {
    m = new Medium();
    m.add({ nodeKey: fixtureKey('n1'), hostname: 'n1' }, ['eth0'], 1);
    m.add({ nodeKey: fixtureKey('n2'), hostname: 'n2' }, ['eth0'], 2);
    m.connect(0, 'eth0', 1, 'eth0');
    for (const n of m.nodes) n.engine.start();
    m.run(12_000);
  });

  it('count the frames each side sends and the other receives, per type', () => {
    const [a, b] = m.nodes;
    const ta = a!.engine.traffic();
    const tb = b!.engine.traffic();
    for (const type of [
      FRAME_TYPE.DESC_ADV,
      FRAME_TYPE.SIGNATURE_ADV,
      FRAME_TYPE.HELLO_ADV,
      FRAME_TYPE.HELLO_REPLY_DHASH,
      FRAME_TYPE.OGM_ADV,
    ]) {
      expect(ta.tx.frames[type], `type ${type} sent`).toBeGreaterThan(0);
      expect(tb.rx.frames[type], `type ${type} received`).toBeGreaterThan(0);
      // what b received of a's frames cannot exceed what a sent (no loss on the medium)
      expect(tb.rx.frames[type]).toBeLessThanOrEqual(ta.tx.frames[type]!);
    }
    expect(ta.txPackets).toBe(a!.engine.counters().txPackets);
    expect(ta.txBytes).toBe(a!.engine.counters().txBytes);
    // every byte sent is in a frame or a packet header
    const frameBytes = ta.tx.bytes.reduce((x, y) => x + y);
    expect(frameBytes + 30 * ta.txPackets).toBe(ta.txBytes);
    expect(tb.rxPackets).toBeGreaterThan(0);
    expect(tb.rxBytes).toBeGreaterThan(0);
  });

  it('count dropped packets by reason; the reasons add up to rxDropped', () => {
    const [a] = m.nodes;
    const e = a!.engine;
    const before = e.traffic().drops;
    e.receive('eth9', 'fe80::9', new Uint8Array(40));
    e.receive('eth0', '2001:db8::1', new Uint8Array(40));
    e.receive('eth0', 'fe80::9', new Uint8Array(3));
    const after = e.traffic().drops;
    expect(after.unknown_interface - before.unknown_interface).toBe(1);
    expect(after.bad_source - before.bad_source).toBe(1);
    expect(after.malformed - before.malformed).toBe(1);
    const sum = DROP_REASONS.reduce((n, r) => n + after[r], 0);
    expect(sum).toBe(e.counters().rxDropped);
  });

  it('hands out copies', () => {
    const e = m.nodes[0]!.engine;
    const t = e.traffic();
    t.rx.frames[FRAME_TYPE.HELLO_ADV] = -1;
    (t.drops as Record<string, number>).malformed = -1;
    expect(e.traffic().rx.frames[FRAME_TYPE.HELLO_ADV]).toBeGreaterThan(0);
    expect(e.traffic().drops.malformed).toBeGreaterThanOrEqual(0);
  });
});
