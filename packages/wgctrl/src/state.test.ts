import { wgKeyToBase64, wgPublicKey } from '@bmx7/crypto';
import { describe, expect, it } from 'vitest';
import { formatPrefix } from './addr.js';
import { WgctrlError } from './errors.js';
import {
  applyConfig,
  changeIsEmpty,
  diffState,
  emptyState,
  stateToChange,
  toWgDevice,
  validateConfig,
} from './state.js';
import type { WgDeviceConfig } from './types.js';

const K = (n: number) => new Uint8Array(32).fill(n);
const b64 = (n: number) => Buffer.from(K(n)).toString('base64');
const SECRET = b64(0x51);

function expectInvalid(cfg: unknown, field: RegExp) {
  try {
    validateConfig('wg7', cfg as WgDeviceConfig);
    expect.unreachable();
  } catch (err) {
    expect(err).toBeInstanceOf(WgctrlError);
    expect(err).toMatchObject({ code: 'ERR_WG_INVALID_CONFIG', device: 'wg7' });
    expect((err as Error).message).toMatch(field);
    expect((err as Error).message).not.toContain(SECRET.slice(0, 20));
  }
}

describe('configuration validation', () => {
  it('names the field, never the key, in every refusal', () => {
    expectInvalid({ privateKey: `${SECRET.slice(0, 43)}` }, /^privateKey/);
    expectInvalid(
      { privateKey: SECRET, peers: [{ publicKey: b64(2), presharedKey: `${SECRET}x` }] },
      /peers\[0\]\.presharedKey/,
    );
    expectInvalid({ listenPort: 65536 }, /listenPort/);
    expectInvalid({ fwmark: -1 }, /fwmark/);
    expectInvalid({ peers: [{ publicKey: b64(2) }, { publicKey: b64(2) }] }, /peers\[1\]\.publicKey repeats/);
    expectInvalid({ peers: [{ publicKey: b64(2), endpoint: 'host.example:1' }] }, /peers\[0\]\.endpoint/);
    expectInvalid({ peers: [{ publicKey: b64(2), persistentKeepalive: 65536 }] }, /persistentKeepalive/);
    expectInvalid(
      { peers: [{ publicKey: b64(2), allowedIps: ['10.0.0.0/8', 'fd00::/200'] }] },
      /allowedIps\[1\]/,
    );
    expectInvalid(null, /config/);
  });

  it('treats an all-zero key as removal, as both APIs do', () => {
    const ch = validateConfig('wg0', {
      privateKey: b64(0),
      peers: [{ publicKey: b64(1), presharedKey: b64(0) }],
    });
    expect(ch.privateKey).toBeNull();
    expect(ch.peers[0]!.presharedKey).toBeNull();
  });
});

describe('applyConfig and diffState', () => {
  const base = applyConfig(
    emptyState('wg0'),
    validateConfig('wg0', {
      privateKey: b64(1),
      listenPort: 51820,
      peers: [
        {
          publicKey: b64(2),
          endpoint: '10.0.0.2:51820',
          allowedIps: ['10.77.2.0/24'],
          persistentKeepalive: 25,
        },
        { publicKey: b64(3), presharedKey: b64(9), allowedIps: ['10.77.3.0/24', 'fd77:3::/64'] },
      ],
    }),
  );

  it('follows the UAPI: update-only never creates, allowed IPs move to the newest owner, replace wipes', () => {
    expect(base.publicKey).toEqual(wgPublicKey(K(1)));
    const next = applyConfig(
      base,
      validateConfig('wg0', {
        peers: [
          { publicKey: b64(4), updateOnly: true, allowedIps: ['10.9.9.9/32'] },
          { publicKey: b64(2), allowedIps: ['10.77.3.0/24'] },
          { publicKey: b64(3), remove: true },
        ],
      }),
    );
    expect(next.peers.map((p) => p.publicKey[0])).toEqual([2]);
    expect(next.peers[0]!.allowedIps.map(formatPrefix)).toEqual(['10.77.2.0/24', '10.77.3.0/24']);
    const moved = applyConfig(
      base,
      validateConfig('wg0', { peers: [{ publicKey: b64(2), allowedIps: ['fd77:3::/64'] }] }),
    );
    expect(moved.peers[1]!.allowedIps.map(formatPrefix)).toEqual(['10.77.3.0/24']);
    const replaced = applyConfig(
      base,
      validateConfig('wg0', { replacePeers: true, peers: [{ publicKey: b64(5) }] }),
    );
    expect(replaced.peers.map((p) => p.publicKey[0])).toEqual([5]);
    expect(base.peers).toHaveLength(2); // the input is not changed
  });

  it('diffState leads from any state to the target, leaving equal peers out', () => {
    const targets: WgDeviceConfig[] = [
      { privateKey: null, listenPort: 1, fwmark: 3 },
      { peers: [{ publicKey: b64(2), endpoint: '[fd00::1]:5' }] },
      {
        peers: [
          { publicKey: b64(3), presharedKey: null, replaceAllowedIps: true, allowedIps: ['10.1.1.1/32'] },
        ],
      },
      { replacePeers: true, peers: [{ publicKey: b64(7), allowedIps: ['10.77.2.0/24'] }] },
    ];
    for (const t of targets) {
      const to = applyConfig(base, validateConfig('wg0', t));
      const undo = diffState(to, base);
      const back = applyConfig(to, undo);
      expect(toWgDevice(back)).toEqual(toWgDevice(base));
      const redo = diffState(base, to);
      expect(toWgDevice(applyConfig(base, redo))).toEqual(toWgDevice(to));
    }
    const one = diffState(
      base,
      applyConfig(base, validateConfig('wg0', { peers: [{ publicKey: b64(2), persistentKeepalive: 0 }] })),
    );
    expect(one.peers.map((p) => p.publicKey[0])).toEqual([2]);
    expect(changeIsEmpty(diffState(base, base))).toBe(true);
  });

  it('stateToChange rebuilds a device from nothing (a restarted wireguard-go)', () => {
    const rebuilt = applyConfig(emptyState('wg0'), stateToChange(base));
    expect(toWgDevice(rebuilt)).toEqual(toWgDevice(base));
    expect(toWgDevice(base).publicKey).toBe(wgKeyToBase64(wgPublicKey(K(1))));
    expect(JSON.stringify(toWgDevice(base))).not.toContain(b64(1));
    expect(JSON.stringify(toWgDevice(base))).not.toContain(b64(9));
  });
});
