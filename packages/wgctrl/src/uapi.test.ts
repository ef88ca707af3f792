import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { wgKeyToHex } from '@bmx7/crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { parseEndpoint, parsePrefix } from './addr.js';
import { WgctrlError } from './errors.js';
import { validateConfig } from './state.js';
import {
  createUapiConnection,
  decodeUapiDevice,
  decodeUapiReply,
  encodeUapiSet,
  uapiReplyLength,
} from './uapi.js';

const K = (n: number) => new Uint8Array(32).fill(n);
const b64 = (n: number) => Buffer.from(K(n)).toString('base64');
const hex = (n: number) => wgKeyToHex(K(n));

// A `get=1` reply in the order wireguard-go writes it (see the UAPI notes of the reference).
const GET_REPLY = [
  `private_key=${hex(1)}`,
  'listen_port=51820',
  'fwmark=7',
  `public_key=${hex(2)}`,
  `preshared_key=${'0'.repeat(64)}`,
  'protocol_version=1',
  'endpoint=[fd77:1::2]:51820',
  'last_handshake_time_sec=1700000000',
  'last_handshake_time_nsec=250000000',
  'tx_bytes=1234',
  'rx_bytes=5678',
  'persistent_keepalive_interval=25',
  'allowed_ip=10.77.2.0/24',
  'allowed_ip=fd77:2::/64',
  `public_key=${hex(3)}`,
  `preshared_key=${hex(4)}`,
  'protocol_version=1',
  'last_handshake_time_sec=0',
  'last_handshake_time_nsec=0',
  'tx_bytes=0',
  'rx_bytes=0',
  'persistent_keepalive_interval=0',
  'errno=0',
  '',
  '',
].join('\n');

describe('UAPI requests', () => {
  it('writes a set request with listen_port first and remove/update_only straight after public_key', () => {
    const ch = validateConfig('wg0', {
      privateKey: b64(1),
      listenPort: 51820,
      fwmark: 0,
      replacePeers: true,
      peers: [
        {
          publicKey: b64(2),
          presharedKey: b64(4),
          endpoint: '[fd77:1::2]:51820',
          persistentKeepalive: 25,
          replaceAllowedIps: true,
          allowedIps: ['10.77.2.9/24', 'fd77:2::/64'],
        },
        { publicKey: b64(3), updateOnly: true, presharedKey: null },
        { publicKey: b64(5), remove: true, allowedIps: ['10.0.0.1/32'] },
      ],
    });
    expect(encodeUapiSet(ch)).toBe(
      [
        'set=1',
        'listen_port=51820',
        `private_key=${hex(1)}`,
        'fwmark=0',
        'replace_peers=true',
        `public_key=${hex(2)}`,
        `preshared_key=${hex(4)}`,
        'endpoint=[fd77:1::2]:51820',
        'persistent_keepalive_interval=25',
        'replace_allowed_ips=true',
        'allowed_ip=10.77.2.0/24',
        'allowed_ip=fd77:2::/64',
        `public_key=${hex(3)}`,
        'update_only=true',
        `preshared_key=${'0'.repeat(64)}`,
        `public_key=${hex(5)}`,
        'remove=true',
        '',
        '',
      ].join('\n'),
    );
    expect(encodeUapiSet(validateConfig('wg0', { privateKey: null }))).toBe(
      `set=1\nprivate_key=${'0'.repeat(64)}\n\n`,
    );
  });
});

describe('UAPI replies', () => {
  it('reads a get reply: device, peers, handshake time, counters, no pre-shared key for zeros', () => {
    const r = decodeUapiReply(GET_REPLY);
    if (!r.ok) throw new Error(r.reason);
    expect(r.value.errno).toBe(0);
    const d = decodeUapiDevice('wg0', r.value.pairs);
    if (!d.ok) throw new Error(d.reason);
    const dev = d.value;
    expect(dev).toMatchObject({ name: 'wg0', listenPort: 51820, fwmark: 7 });
    expect(dev.privateKey).toEqual(K(1));
    expect(dev.publicKey).toHaveLength(32);
    expect(dev.peers).toHaveLength(2);
    expect(dev.peers[0]).toMatchObject({
      publicKey: K(2),
      presharedKey: null,
      lastHandshakeMs: 1700000000250,
      txBytes: 1234,
      rxBytes: 5678,
      persistentKeepalive: 25,
    });
    expect(dev.peers[0]!.endpoint).toEqual((parseEndpoint('[fd77:1::2]:51820') as { value: unknown }).value);
    expect(dev.peers[0]!.allowedIps).toEqual(
      [parsePrefix('10.77.2.0/24'), parsePrefix('fd77:2::/64')].map((p) => (p.ok ? p.value : null)),
    );
    expect(dev.peers[1]).toMatchObject({
      publicKey: K(3),
      presharedKey: K(4),
      endpoint: null,
      lastHandshakeMs: 0,
      allowedIps: [],
    });
  });

  it('reads a fresh device (no private key, no fwmark line) and skips unknown keys', () => {
    const r = decodeUapiReply('listen_port=40000\nfuture_key=1\nerrno=0\n\n');
    if (!r.ok) throw new Error(r.reason);
    const d = decodeUapiDevice('wg1', r.value.pairs);
    expect(d).toMatchObject({
      ok: true,
      value: { privateKey: null, publicKey: null, listenPort: 40000, fwmark: 0, peers: [] },
    });
  });

  it('returns the errno of a refused request as a positive number', () => {
    expect(decodeUapiReply('errno=-22\n\n')).toEqual({ ok: true, value: { errno: 22, pairs: [] } });
    expect(decodeUapiReply('errno=-98\n\n')).toEqual({ ok: true, value: { errno: 98, pairs: [] } });
  });

  it('rejects malformed and truncated replies, and never throws on any cut or flipped byte', () => {
    for (const bad of [
      'errno=0\n',
      'errno=x\n\n',
      'listen_port=1\n\n',
      'junk\nerrno=0\n\n',
      '=1\nerrno=0\n\n',
      '\n',
    ]) {
      expect(decodeUapiReply(bad).ok, JSON.stringify(bad)).toBe(false);
    }
    const bad = (pairs: [string, string][]) => decodeUapiDevice('x', pairs).ok;
    expect(bad([['private_key', 'zz']])).toBe(false);
    expect(bad([['public_key', hex(1).slice(2)]])).toBe(false);
    expect(bad([['listen_port', '65536']])).toBe(false);
    expect(
      bad([
        ['public_key', hex(1)],
        ['allowed_ip', '10.0.0.0/33'],
      ]),
    ).toBe(false);
    expect(
      bad([
        ['public_key', hex(1)],
        ['endpoint', 'host:1'],
      ]),
    ).toBe(false);
    expect(
      bad([
        ['public_key', hex(1)],
        ['rx_bytes', '-1'],
      ]),
    ).toBe(false);
    for (let n = 0; n < GET_REPLY.length; n++) {
      const cut = GET_REPLY.slice(0, n);
      const len = uapiReplyLength(cut);
      // A cut reply is never taken as complete, except where a cut leaves a blank line by chance.
      if (len < 0) continue;
      expect(() => decodeUapiReply(cut.slice(0, len))).not.toThrow();
    }
    for (let i = 0; i < GET_REPLY.length; i++) {
      const flipped =
        GET_REPLY.slice(0, i) + String.fromCharCode(GET_REPLY.charCodeAt(i) ^ 0x04) + GET_REPLY.slice(i + 1);
      expect(() => {
        const r = decodeUapiReply(flipped);
        if (r.ok) decodeUapiDevice('x', r.value.pairs);
      }).not.toThrow();
    }
  });
});

describe('UAPI connection', () => {
  let dir: string | undefined;
  let server: Server | undefined;
  afterEach(() => {
    server?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** A fake userspace implementation: `answer` decides what to write back for each request. */
  async function fake(answer: (req: string, sock: Socket) => void): Promise<string> {
    dir = mkdtempSync(join(tmpdir(), 'wgctrl-uapi-'));
    const path = join(dir, 'wg0.sock');
    server = createServer((sock) => {
      let buf = '';
      sock.setEncoding('utf8');
      sock.on('data', (d: string) => {
        buf += d;
        let i = buf.indexOf('\n\n');
        while (i >= 0) {
          const req = buf.slice(0, i + 2);
          buf = buf.slice(i + 2);
          answer(req, sock);
          i = buf.indexOf('\n\n');
        }
      });
    });
    await new Promise<void>((r) => server!.listen(path, r));
    return path;
  }

  it('sends one request at a time and reassembles replies split across writes', async () => {
    const seen: string[] = [];
    const path = await fake((req, sock) => {
      seen.push(req);
      const reply = req.startsWith('get') ? 'listen_port=1\nerrno=0\n\n' : 'errno=0\n\n';
      sock.write(reply.slice(0, 5));
      setImmediate(() => sock.write(reply.slice(5)));
    });
    const c = createUapiConnection(path, { device: 'wg0' });
    const [a, b, d] = await Promise.all([
      c.request('set=1\nfwmark=1\n\n'),
      c.request('get=1\n\n'),
      c.request('get=1\n\n'),
    ]);
    expect([a, b, d]).toEqual(['errno=0\n\n', 'listen_port=1\nerrno=0\n\n', 'listen_port=1\nerrno=0\n\n']);
    expect(seen).toEqual(['set=1\nfwmark=1\n\n', 'get=1\n\n', 'get=1\n\n']);
    c.close();
    expect(c.closed).toBe(true);
  });

  it('fails with ERR_WG_PROTOCOL when the socket closes mid-reply or without one, and on unsolicited data', async () => {
    const path = await fake((req, sock) => {
      if (req.startsWith('get=2')) sock.end();
      else sock.end('listen_port=1\nerr');
    });
    const c1 = createUapiConnection(path, { device: 'wg0' });
    await expect(c1.request('get=1\n\n')).rejects.toMatchObject({
      code: 'ERR_WG_PROTOCOL',
      device: 'wg0',
      message: expect.stringMatching(/truncated/),
    });
    expect(c1.closed).toBe(true);
    const c2 = createUapiConnection(path, { device: 'wg0' });
    await expect(c2.request('get=2\n\n')).rejects.toMatchObject({
      code: 'ERR_WG_PROTOCOL',
      message: expect.stringMatching(/without a reply/),
    });
  });

  it('times out a reply that never completes, and reports a missing socket as ERR_WG_NO_DEVICE', async () => {
    const path = await fake((_req, sock) => sock.write('listen_port=1\n'));
    const c = createUapiConnection(path, { device: 'wg0', timeoutMs: 50 });
    await expect(c.request('get=1\n\n')).rejects.toMatchObject({ code: 'ERR_WG_TIMEOUT' });
    const gone = createUapiConnection(join(dir!, 'nothing.sock'), { device: 'wg9' });
    const err = await gone.request('get=1\n\n').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WgctrlError);
    expect(err).toMatchObject({ code: 'ERR_WG_NO_DEVICE', device: 'wg9', backend: 'uapi' });
  });
});
