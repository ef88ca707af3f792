import type { CryptLevel } from '@bmx7/plugin-tun';
import { describe, expect, it } from 'vitest';
import { type CryptDecision, cryptDecision, cryptLevel } from './policy.js';

describe('crypt policy (docs/protocol.md §4.13 "CRYPT_TUN")', () => {
  // every gateway offer × every client setting, with and without an admitted WireGuard peer
  const table: [CryptLevel, CryptLevel, boolean, CryptDecision][] = [
    [0, 0, true, 'plain'],
    [0, 0, false, 'plain'],
    [0, 1, true, 'plain'],
    [0, 1, false, 'plain'],
    [0, 2, true, 'none'],
    [0, 2, false, 'none'],
    [1, 0, true, 'plain'],
    [1, 0, false, 'plain'],
    [1, 1, true, 'encrypted'],
    [1, 1, false, 'plain'],
    [1, 2, true, 'encrypted'],
    [1, 2, false, 'none'],
    [2, 0, true, 'none'],
    [2, 0, false, 'none'],
    [2, 1, true, 'encrypted'],
    [2, 1, false, 'none'],
    [2, 2, true, 'encrypted'],
    [2, 2, false, 'none'],
  ];
  it.each(table)('setting %i, offer %i, peer %s → %s', (setting, offer, peer, want) => {
    expect(cryptDecision(setting, offer, peer)).toBe(want);
  });

  it('never gives plain where the client asks for WireGuard only or the gateway takes only WireGuard', () => {
    for (const [setting, offer, peer] of table)
      if (setting === 2 || offer === 2) expect(cryptDecision(setting, offer, peer)).not.toBe('plain');
  });

  it('reads option values', () => {
    expect([0, 1, 2, '2', ' 1 '].map(cryptLevel)).toEqual([0, 1, 2, 2, 1]);
    expect([3, -1, '', 'x', undefined, 1.5].map(cryptLevel)).toEqual([
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
  });
});
