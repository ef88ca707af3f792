/**
 * Kernel WireGuard against wireguard-go: the kernel device is configured with the `wg` tool, the
 * wireguard-go device through its UAPI socket (as @bmx7/wgctrl's UAPI backend does); the two complete
 * a handshake and carry IPv4 and IPv6 pings.
 *
 *   ns a: kernel wireguard                     ns b: wireguard-go (TUN)
 *   wg   10.95.1.1/24  fd95:1::1/64            wg   10.95.1.2/24  fd95:1::2/64
 *        listen 51820 ─────── UDP ─────────────     listen 51821
 *   veth 10.95.0.1/24  ─────────────────────── veth 10.95.0.2/24
 *
 * Runs in the VM (pnpm test:vm); elsewhere it is skipped with the reason.
 */
import { type ChildProcess, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeKernel, wireguardGoPath } from '@bmx7/testenv/env';
import { createNetnsBed, type NetnsBed, waitFor } from '@bmx7/testenv/netns';
import { afterAll, beforeAll, expect, it } from 'vitest';

const PORT_A = 51820;
const PORT_B = 51821;

/** A key pair from `wg genkey` / `wg pubkey`, base64 as the wg tool prints it. */
function wgKeyPair(): { priv: string; pub: string } {
  const priv = spawnSync('wg', ['genkey'], { encoding: 'utf8' }).stdout.trim();
  const pub = spawnSync('wg', ['pubkey'], { input: priv, encoding: 'utf8' }).stdout.trim();
  if (priv.length !== 44 || pub.length !== 44) throw new Error('wg genkey/pubkey failed');
  return { priv, pub };
}

/** UAPI keys are 64 hex characters; the wg tool speaks base64. */
function hexKey(base64: string): string {
  return Buffer.from(base64, 'base64').toString('hex');
}

/** One UAPI request on the device's socket; resolves with the response's `key=value` lines. */
function uapi(socket: string, request: string): Promise<Map<string, string[]>> {
  return new Promise((resolve, reject) => {
    const conn = createConnection(socket);
    let text = '';
    conn.setEncoding('utf8');
    conn.on('error', reject);
    conn.on('data', (chunk: string) => {
      text += chunk;
      // A response ends with `errno=N` and a blank line (see the UAPI protocol).
      const m = /(?:^|\n)errno=(-?\d+)\n\n$/.exec(text);
      if (!m) return;
      conn.end();
      if (m[1] !== '0') return reject(new Error(`UAPI errno=${m[1]}`));
      const fields = new Map<string, string[]>();
      for (const line of text.split('\n')) {
        const eq = line.indexOf('=');
        if (eq > 0)
          fields.set(line.slice(0, eq), [...(fields.get(line.slice(0, eq)) ?? []), line.slice(eq + 1)]);
      }
      resolve(fields);
    });
    conn.write(request);
  });
}

describeKernel('kernel WireGuard with wireguard-go', ['wireguard'], () => {
  let bed: NetnsBed;
  let a: string;
  let b: string;
  let wgA: string;
  let wgB: string;
  let goProc: ChildProcess;
  let socket: string;
  let keyA: { priv: string; pub: string };
  let keyB: { priv: string; pub: string };
  let keyDir: string | undefined;

  beforeAll(async () => {
    keyA = wgKeyPair();
    keyB = wgKeyPair();
    const wgGo = wireguardGoPath();
    if (!wgGo) throw new Error('wireguard-go is not installed (Debian: wireguard-go)');
    bed = createNetnsBed('wg');
    a = bed.ns('a');
    b = bed.ns('b');
    const [va, vb] = bed.veth(a, b);
    bed.execOk(a, 'ip', ['addr', 'add', '10.95.0.1/24', 'dev', va]);
    bed.execOk(b, 'ip', ['addr', 'add', '10.95.0.2/24', 'dev', vb]);

    // a: the kernel device, configured with wg. wg reads the private key from a file, never argv
    // (Node's stdin pipe is a socket, which /dev/stdin cannot open).
    wgA = bed.name('ka');
    bed.execOk(a, 'ip', ['link', 'add', wgA, 'type', 'wireguard']);
    keyDir = mkdtempSync(join(tmpdir(), 'bmx7-wgkey-'));
    const keyFile = join(keyDir, 'a.key');
    writeFileSync(keyFile, keyA.priv, { mode: 0o600 });
    bed.execOk(a, 'wg', ['set', wgA, 'private-key', keyFile, 'listen-port', String(PORT_A)]);
    rmSync(keyDir, { recursive: true, force: true });
    bed.execOk(a, 'wg', [
      ...['set', wgA, 'peer', keyB.pub, 'endpoint', `10.95.0.2:${PORT_B}`],
      ...['allowed-ips', '10.95.1.2/32,fd95:1::2/128'],
    ]);

    // b: wireguard-go in the foreground; its UAPI socket is a machine-wide path named for the device.
    wgB = bed.name('gb');
    socket = `/var/run/wireguard/${wgB}.sock`;
    goProc = bed.spawn(b, wgGo, ['-f', wgB]);
    await waitFor('the wireguard-go UAPI socket', () => uapi(socket, 'get=1\n\n'));
    await uapi(
      socket,
      [
        'set=1',
        `private_key=${hexKey(keyB.priv)}`,
        `listen_port=${PORT_B}`,
        `public_key=${hexKey(keyA.pub)}`,
        `endpoint=10.95.0.1:${PORT_A}`,
        'allowed_ip=10.95.1.1/32',
        'allowed_ip=fd95:1::1/128',
        '',
        '',
      ].join('\n'),
    );

    for (const [ns, dev, v4, v6] of [
      [a, wgA, '10.95.1.1/24', 'fd95:1::1/64'],
      [b, wgB, '10.95.1.2/24', 'fd95:1::2/64'],
    ] as const) {
      bed.execOk(ns, 'ip', ['addr', 'add', v4, 'dev', dev]);
      bed.execOk(ns, 'ip', ['-6', 'addr', 'add', v6, 'dev', dev, 'nodad']);
      bed.execOk(ns, 'ip', ['link', 'set', dev, 'up']);
    }
  });

  afterAll(async () => {
    if (goProc && goProc.exitCode === null) {
      // Deleting the link makes wireguard-go exit and remove its socket.
      const gone = new Promise((r) => goProc.once('exit', r));
      bed.exec(b, 'ip', ['link', 'del', wgB]);
      await Promise.race([gone, new Promise((r) => setTimeout(r, 5_000))]);
    }
    bed?.cleanup();
    if (socket) rmSync(socket, { force: true });
    if (keyDir) rmSync(keyDir, { recursive: true, force: true });
  });

  it('completes a handshake and carries an IPv4 ping from the kernel side', async () => {
    await waitFor('ping 10.95.1.2 through the tunnel', () => {
      return bed.exec(a, 'ping', ['-c', '1', '-W', '2', '10.95.1.2']).status === 0;
    });
    expect(bed.execOk(a, 'ping', ['-c', '3', '-i', '0.2', '-W', '2', '10.95.1.2'])).toMatch(
      /3 packets transmitted, 3 received/,
    );
  });

  it('carries an IPv6 ping from the wireguard-go side', () => {
    expect(bed.execOk(b, 'ping', ['-c', '3', '-i', '0.2', '-W', '2', 'fd95:1::1'])).toMatch(
      /3 packets transmitted, 3 received/,
    );
  });

  it('both ends report the handshake and the traffic', async () => {
    // Kernel side, read with wg: the peer is wireguard-go, handshake time set, bytes both ways.
    const hs = bed.execOk(a, 'wg', ['show', wgA, 'latest-handshakes']).trim().split('\t');
    expect(hs[0]).toBe(keyB.pub);
    expect(Number(hs[1])).toBeGreaterThan(0);
    const [, rxA, txA] = bed.execOk(a, 'wg', ['show', wgA, 'transfer']).trim().split('\t');
    expect(Number(rxA)).toBeGreaterThan(0);
    expect(Number(txA)).toBeGreaterThan(0);
    expect(bed.execOk(a, 'wg', ['show', wgA, 'endpoints']).trim()).toBe(`${keyB.pub}\t10.95.0.2:${PORT_B}`);

    // wireguard-go side, read over UAPI.
    const got = await uapi(socket, 'get=1\n\n');
    expect(got.get('public_key')).toEqual([hexKey(keyA.pub)]);
    expect(Number(got.get('last_handshake_time_sec')?.[0])).toBeGreaterThan(0);
    expect(Number(got.get('rx_bytes')?.[0])).toBeGreaterThan(0);
    expect(Number(got.get('tx_bytes')?.[0])).toBeGreaterThan(0);
    expect(got.get('allowed_ip')?.sort()).toEqual(['10.95.1.1/32', 'fd95:1::1/128']);
  });
});
