import { describe, expect, it } from 'vitest';
import { decodeAttrs } from './attr.js';
import { decodeLinkMsg, encodeLinkMsg, IFLA_IFNAME, IFLA_LINKINFO } from './rtnl-link.js';

describe('rtnetlink links', () => {
  it('encodes RTM_NEWLINK for a wireguard device as `ip link add wg0 type wireguard` does', () => {
    const p = encodeLinkMsg({ name: 'wg0', kind: 'wireguard' });
    // ifinfomsg (16 zero bytes), IFLA_IFNAME "wg0\0", IFLA_LINKINFO{ IFLA_INFO_KIND "wireguard" }
    expect([...p.subarray(0, 16)]).toEqual(new Array(16).fill(0));
    expect([...p.subarray(16, 24)]).toEqual([8, 0, IFLA_IFNAME, 0, 0x77, 0x67, 0x30, 0]);
    expect([...p.subarray(24, 28)]).toEqual([20, 0, IFLA_LINKINFO, 0x80]);
    expect([...p.subarray(28, 32)]).toEqual([13, 0, 1, 0]);
    expect(new TextDecoder().decode(p.subarray(32, 41))).toBe('wireguard');
    expect(p.length).toBe(44);
    expect(decodeLinkMsg(p)).toEqual({
      ok: true,
      value: { family: 0, type: 0, index: 0, flags: 0, change: 0, name: 'wg0', kind: 'wireguard' },
    });
  });

  it('refuses names the kernel would refuse, and never throws on truncated input', () => {
    expect(() => encodeLinkMsg({ name: 'a-name-of-16-chr' })).toThrow(RangeError);
    const p = encodeLinkMsg({ index: 7, name: 'veth0', mtu: 1420, kind: 'veth' });
    for (let n = 0; n < p.length; n++) {
      const d = decodeLinkMsg(p.subarray(0, n));
      if (n < 16) expect(d.ok).toBe(false);
      else expect(() => decodeAttrs(p.subarray(16, n))).not.toThrow();
    }
    expect(decodeLinkMsg(p)).toMatchObject({
      ok: true,
      value: { index: 7, name: 'veth0', mtu: 1420, kind: 'veth' },
    });
  });
});
