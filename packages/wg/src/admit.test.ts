import { TLV_TYPE, WIREGUARD_VERSION, type WireguardTlv } from '@bmx7/codec';
import type { NodeView } from '@bmx7/core';
import { describe, expect, it } from 'vitest';
import { admittedPeer } from './plugin.js';

const node: NodeView = {
  id: 'ab'.repeat(28),
  shortId: 'ABABABAB',
  name: 'gw',
  descSqn: 1,
  compatibility: 21,
  primaryIp: 'fd70:abab:abab::1',
  metric: 1e9,
  hops: 1,
};
const tlv = (o: Partial<WireguardTlv> = {}): WireguardTlv => ({
  type: TLV_TYPE.WIREGUARD,
  version: WIREGUARD_VERSION,
  flags: 0,
  listenPort: 6271,
  publicKey: new Uint8Array(32).fill(7),
  extra: new Uint8Array(0),
  ...o,
});

describe('admittedPeer (docs/protocol.md §4.11, §4.13)', () => {
  it('without trust configured: every valid announcement', () => {
    expect(admittedPeer(node, tlv())).toMatchObject({ endpoint: '[fd70:abab:abab::1]:6271', name: 'gw' });
  });
  it('with trust configured: trust 2 or 3 admitted, 0 (or not listed) refused', () => {
    expect(admittedPeer(node, tlv(), { trust: 2 })).toBeDefined();
    expect(admittedPeer(node, tlv(), { trust: 3 })).toBeDefined();
    expect(admittedPeer(node, tlv(), { trust: 0 })).toBeUndefined();
  });
  it('refuses port 0 and the all-zero key, whatever the trust', () => {
    expect(admittedPeer(node, tlv({ listenPort: 0 }))).toBeUndefined();
    expect(admittedPeer(node, tlv({ publicKey: new Uint8Array(32) }), { trust: 2 })).toBeUndefined();
  });
});
