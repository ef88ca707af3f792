import { describe, expect, it } from 'vitest';
import {
  IFNAME_MAX,
  OUT_DEVICE_SUFFIX_LENGTH,
  outDeviceName,
  SHORT_ID_DIGITS,
  TUN_DEV_NAME_MAX,
  tunDevNameLimit,
} from './names.js';

const ID = '6484b2ed0c1f9a3e77d4b5a1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7';

describe('outDeviceName', () => {
  it("is the reference's name for tun6Id 0: the prefix, Out_ and the short id in upper case", () => {
    expect(outDeviceName('X7', ID, 0)).toBe('X7Out_6484B2ED');
  });

  it('puts any other tun6Id in hex after Out and keeps the length', () => {
    expect(outDeviceName('X7', ID, 1)).toBe('X7Out1_6484B2E');
    expect(outDeviceName('X7', ID, 14)).toBe('X7OutE_6484B2E');
    expect(outDeviceName('X7', ID, 255)).toBe('X7OutFF_6484B2');
    for (const k of [0, 1, 9, 15, 16, 200, 255])
      expect(outDeviceName('abc', ID, k)).toHaveLength(3 + OUT_DEVICE_SUFFIX_LENGTH);
  });

  it('gives different names to the tunDevs of one gateway and to different gateways', () => {
    const names = new Set<string>();
    for (const id of [ID, `f${ID.slice(1)}`])
      for (let k = 0; k < 256; k++) names.add(outDeviceName('X7', id, k));
    expect(names.size).toBe(512);
  });
});

describe('tunDevNameLimit', () => {
  it("leaves room for the client's device name: 3 characters", () => {
    expect(OUT_DEVICE_SUFFIX_LENGTH).toBe('Out_'.length + SHORT_ID_DIGITS);
    expect(TUN_DEV_NAME_MAX).toBe(3);
    expect(TUN_DEV_NAME_MAX + OUT_DEVICE_SUFFIX_LENGTH).toBe(IFNAME_MAX);
    expect(outDeviceName('X'.repeat(TUN_DEV_NAME_MAX), ID, 255).length).toBeLessThanOrEqual(IFNAME_MAX);
  });

  it("takes other plugins' longer names into account, never their shorter ones", () => {
    expect(tunDevNameLimit([4, 11])).toBe(3);
    expect(tunDevNameLimit([13])).toBe(2);
  });
});
