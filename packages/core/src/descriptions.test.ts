import { readFileSync } from 'node:fs';
import {
  decodePacket,
  encodeTlvBody,
  ip6FromString,
  ip6ToString,
  readCapture,
  TLV_TYPE,
  udp6Datagrams,
} from '@bmx7/codec';
import { createDhmKey, createOgmChain, generateRsaKey, primaryAddress } from '@bmx7/crypto';
import { fixture } from '@bmx7/testenv/env';
import { describe, expect, it } from 'vitest';
import { fixtureKey } from '../test/harness.js';
import type { ContentItem } from './contents.js';
import {
  buildOwnDescription,
  descriptionFacts,
  encodeMetricTlv,
  parseDescription,
  resolveDescription,
} from './descriptions.js';
import { hex } from './hex.js';
import { DEFAULT_METRIC_PARAMS } from './metrics.js';

describe('own description (docs/protocol.md §4.5)', () => {
  it('has the reference layout: 575-byte root, 703 bytes in 8 referenced contents', () => {
    const key = fixtureKey('n1');
    const dhm = createDhmKey(17);
    const chain = createOgmChain({ nodeId: key.id, descSqn: 111, range: 6000 });
    const bodies = new Map<number, Uint8Array>([
      [TLV_TYPE.RSA_LINK_PUBKEY, generateRsaKey(4).publicContent],
      [TLV_TYPE.DHM_LINK_PUBKEY, encodeTlvBody({ type: 6, keyType: 17, gx: dhm.publicValue })],
      [TLV_TYPE.METRIC, encodeMetricTlv(DEFAULT_METRIC_PARAMS)],
      [TLV_TYPE.LLIP, encodeTlvBody({ type: 14, addresses: [ip6FromString('fe80::1877:10ff:fe3d:bfb0')] })],
      [
        TLV_TYPE.HNA6,
        encodeTlvBody({ type: 15, entries: [{ prefixLen: 128, flags: 0, address: primaryAddress(key.id) }] }),
      ],
      [
        TLV_TYPE.INFO,
        encodeTlvBody({
          type: 28,
          infoType: 0,
          infoOffset: 20,
          codeRevision: 0,
          reservedA: 0,
          reservedB: 0,
          reservedC: 0,
          name: 'ref-n1',
          mail: '',
          extra: new Uint8Array(0),
        }),
      ],
    ]);
    const built = buildOwnDescription({
      nodeKey: key,
      descSqn: 111,
      bootSqn: 111,
      ogmSqnRange: 6000,
      anchor: chain.anchor,
      compatibility: 21,
      bodies,
    });
    expect(built.bytes.length).toBe(575);
    const p = parseDescription(built.bytes, key.publicContent, 21);
    expect(p.ok).toBe(true);
    if (!p.ok) return;
    expect(p.value.decoded!.version).toMatchObject({
      descSqn: 111,
      bootSqn: 111,
      virtLength: 703,
      virtContents: 8,
    });
    // receivers resolve it from the sender's contents
    const store = new Map<string, ContentItem>(built.contents.map((c) => [hex(c.hash), c]));
    const r = resolveDescription(p.value, store);
    expect(r.status).toBe('ok');
    if (r.status !== 'ok') return;
    const facts = descriptionFacts(key.id, r.bodies, ip6ToString);
    expect(facts.ok && facts.value.name).toBe('ref-n1');
    expect(facts.ok && facts.value.llips).toEqual(['fe80::1877:10ff:fe3d:bfb0']);
    // a flipped bit in the signed part fails the signature check
    const bad = built.bytes.slice();
    bad[bad.length - 1]! ^= 1;
    expect(parseDescription(bad, key.publicContent, 21).ok).toBe(false);
  });

  it('verifies the reference descriptions captured in startup.pcap', () => {
    const cap = readCapture(new Uint8Array(readFileSync(fixture('startup.pcap'))));
    if (!cap.ok) throw new Error(cap.reason);
    const keys = new Map(['n1', 'n2', 'n3'].map((n) => [hex(fixtureKey(n).id), fixtureKey(n).publicContent]));
    let verified = 0;
    for (const d of udp6Datagrams(cap.value, 6270)) {
      const pkt = decodePacket(d.payload);
      if (!pkt.ok) continue;
      for (const f of pkt.value.frames) {
        if (f.type !== 2) continue;
        const bytes = d.payload.subarray(f.offset + 2, f.offset + f.length);
        const id = hex(bytes.subarray(2, 30));
        const p = parseDescription(bytes, keys.get(id), 21);
        expect(p.ok).toBe(true);
        verified++;
      }
    }
    expect(verified).toBeGreaterThan(3);
  });
});

describe('TRUSTS and SUPPORTS (docs/protocol.md §4.11)', () => {
  const id = (b: number) => new Uint8Array(28).fill(b);
  const facts = (type: 9 | 10, ids: number[]) =>
    descriptionFacts(
      id(1),
      new Map([
        [type, encodeTlvBody({ type, entries: ids.map((b) => ({ nodeId: id(b), level: 2, reserved: 0 })) })],
      ]),
      ip6ToString,
    );
  it('are read when their ids ascend strictly, and refuse the description otherwise', () => {
    for (const type of [TLV_TYPE.TRUSTS, TLV_TYPE.SUPPORTS] as const) {
      const ok = facts(type, [2, 3]);
      expect(ok.ok && (type === TLV_TYPE.TRUSTS ? ok.value.trusts : ok.value.supports)?.size).toBe(2);
      expect(facts(type, [3, 2])).toEqual({ ok: false, reason: 'TRUSTS or SUPPORTS not ascending' });
      expect(facts(type, [2, 2]).ok).toBe(false);
      expect(facts(type, [0]).ok).toBe(false);
    }
  });
});
