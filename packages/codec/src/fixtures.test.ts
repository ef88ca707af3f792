import { describe, expect, it } from 'vitest';
import { CAPTURES, datagrams } from '../test/fixtures.js';
import { bytesEqual } from './bytes.js';
import { decodePacket, encodePacket } from './packet.js';

describe.each(CAPTURES)('reference capture %s', (name) => {
  const ds = datagrams(name);

  it('holds BMX7 packets', () => {
    expect(ds.length).toBeGreaterThan(50);
  });

  it('decodes every packet and re-encodes it to identical bytes', () => {
    for (const d of ds) {
      const r = decodePacket(d.payload);
      if (!r.ok) throw new Error(`packet ${d.index}: ${r.reason}`);
      expect(r.value.length).toBe(d.payload.length);
      const again = encodePacket(r.value.header, r.value.frames);
      expect(bytesEqual(again, d.payload), `packet ${d.index}`).toBe(true);
    }
  });
});
