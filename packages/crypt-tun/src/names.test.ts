import { IFNAME_MAX, TUN_DEV_NAME_MAX, tunDevNameLimit } from '@bmx7/plugin-tun';
import { describe, expect, it } from 'vitest';
import { CRYPT_TUN_DEVICE_SUFFIX_LENGTH, gatewayDeviceName, receivingDeviceName } from './names.js';

const ID = '915d18280c1f9a3e77d4b5a1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7';

describe("crypt-tun's device names", () => {
  it('are the prefix with wg_ and the short id, or wgIn', () => {
    expect(gatewayDeviceName('X7', ID)).toBe('X7wg_915D1828');
    expect(receivingDeviceName('X7')).toBe('X7wgIn');
  });

  it('add at most CRYPT_TUN_DEVICE_SUFFIX_LENGTH characters, and fit for every tunDevName the check takes', () => {
    expect(CRYPT_TUN_DEVICE_SUFFIX_LENGTH).toBe('wg_'.length + 8);
    const limit = tunDevNameLimit([CRYPT_TUN_DEVICE_SUFFIX_LENGTH]);
    expect(limit).toBe(TUN_DEV_NAME_MAX);
    const prefix = 'X'.repeat(limit);
    for (const name of [gatewayDeviceName(prefix, ID), receivingDeviceName(prefix)])
      expect(name.length).toBeLessThanOrEqual(IFNAME_MAX);
  });
});
