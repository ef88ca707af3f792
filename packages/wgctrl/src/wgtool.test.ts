import { describe, expect, it } from 'vitest';
import { formatPrefix } from './addr.js';
import { applyConfig, emptyState, validateConfig } from './state.js';
import { decodeWgDump, wgSetArgs } from './wgtool.js';

const b64 = (n: number) => Buffer.from(new Uint8Array(32).fill(n)).toString('base64');

// `wg show wg0 dump`: the device line (private key first), then one line per peer.
const DUMP = [
  [b64(1), b64(9), '51820', '0x2a'].join('\t'),
  [
    b64(2),
    '(none)',
    '[fd77:1::2]:51820',
    '10.77.2.0/24,fd77:2::/64',
    '1700000000',
    '5678',
    '1234',
    '25',
  ].join('\t'),
  [b64(3), b64(4), '(none)', '(none)', '0', '0', '0', 'off'].join('\t'),
  '',
].join('\n');

describe('wg show dump', () => {
  it('parses the device and peers', () => {
    const d = decodeWgDump('wg0', DUMP);
    if (!d.ok) throw new Error(d.reason);
    expect(d.value).toMatchObject({ listenPort: 51820, fwmark: 42 });
    expect(d.value.peers[0]).toMatchObject({
      presharedKey: null,
      lastHandshakeMs: 1700000000000,
      rxBytes: 5678,
      txBytes: 1234,
      persistentKeepalive: 25,
    });
    expect(d.value.peers[0]!.allowedIps.map(formatPrefix)).toEqual(['10.77.2.0/24', 'fd77:2::/64']);
    expect(d.value.peers[1]).toMatchObject({ endpoint: null, allowedIps: [], persistentKeepalive: 0 });
    expect(decodeWgDump('wg0', `(none)\t(none)\t0\toff\n`)).toMatchObject({
      ok: true,
      value: { privateKey: null, peers: [] },
    });
  });

  it('rejects output of another shape', () => {
    for (const bad of [
      '',
      'a\tb\tc',
      `${b64(1)}\t${b64(2)}\tx\toff`,
      `(none)\t(none)\t0\toff\n${b64(2)}\tshort`,
    ]) {
      expect(decodeWgDump('wg0', bad).ok, bad).toBe(false);
    }
  });
});

describe('wg set arguments', () => {
  const cur = applyConfig(
    emptyState('wg0'),
    validateConfig('wg0', {
      peers: [{ publicKey: b64(2), allowedIps: ['10.0.0.2/32'] }, { publicKey: b64(3) }],
    }),
  );
  const files: (string | null)[] = [];
  const keyFile = (k: Uint8Array | null) => {
    files.push(k ? 'secret' : null);
    return k ? `/private/k${files.length}` : '/dev/null';
  };

  it('passes keys by file, adds to allowed IPs by giving wg the merged list, and skips update-only peers that do not exist', () => {
    const args = wgSetArgs(
      'wg0',
      cur,
      validateConfig('wg0', {
        privateKey: b64(1),
        listenPort: 0,
        fwmark: 0,
        peers: [
          { publicKey: b64(2), presharedKey: null, allowedIps: ['10.0.0.22/32'], persistentKeepalive: 0 },
          { publicKey: b64(5), updateOnly: true, endpoint: '10.1.1.1:5' },
          { publicKey: b64(3), remove: true },
        ],
      }),
      keyFile,
    );
    expect(args).toEqual([
      'set',
      'wg0',
      'listen-port',
      '0',
      'fwmark',
      'off',
      'private-key',
      '/private/k1',
      'peer',
      b64(2),
      'preshared-key',
      '/dev/null',
      'persistent-keepalive',
      'off',
      'allowed-ips',
      '10.0.0.2/32,10.0.0.22/32',
      'peer',
      b64(3),
      'remove',
    ]);
    expect(args.join(' ')).not.toContain(b64(1));
  });

  it('emulates replace-peers by removing every current peer first', () => {
    const args = wgSetArgs(
      'wg0',
      cur,
      validateConfig('wg0', {
        replacePeers: true,
        peers: [{ publicKey: b64(2), allowedIps: ['10.0.0.9/32'] }],
      }),
      keyFile,
    );
    expect(args).toEqual([
      'set',
      'wg0',
      'peer',
      b64(2),
      'remove',
      'peer',
      b64(3),
      'remove',
      'peer',
      b64(2),
      'allowed-ips',
      '10.0.0.9/32',
    ]);
  });
});
