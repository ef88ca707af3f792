/**
 * The UAPI backend end to end without root: a fake wireguard-go (a Unix-socket server that speaks
 * the UAPI text and keeps its device in memory) is "spawned" through the injected spawn, so the
 * supervisor's restart and re-configuration run for real against a socket.
 */
import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ChildLike } from './supervisor.js';
import { createWgctrl } from './wgctrl.js';

const hex = (n: number) => n.toString(16).padStart(2, '0').repeat(32);
const b64 = (n: number) => Buffer.from(new Uint8Array(32).fill(n)).toString('base64');

/** A tiny UAPI server: device fields and peers (public key → allowed IPs), in memory. */
class FakeWireguardGo extends EventEmitter implements ChildLike {
  static next = 4000;
  readonly pid = FakeWireguardGo.next++;
  exitCode: number | null = null;
  signalCode: NodeJS.Signals | null = null;
  sets: string[] = [];
  private server: Server;
  private port = 0;
  private priv = '';
  private peers = new Map<string, string[]>();
  constructor(path: string, onReady: () => void) {
    super();
    this.server = createServer((sock) => {
      let buf = '';
      sock.setEncoding('utf8');
      sock.on('data', (d: string) => {
        buf += d;
        for (let i = buf.indexOf('\n\n'); i >= 0; i = buf.indexOf('\n\n')) {
          const req = buf.slice(0, i);
          buf = buf.slice(i + 2);
          sock.write(this.handle(req));
        }
      });
    });
    this.server.listen(path, onReady);
  }
  private handle(req: string): string {
    const lines = req.split('\n');
    if (lines[0] === 'get=1') {
      const out = [`listen_port=${this.port}`];
      if (this.priv) out.unshift(`private_key=${this.priv}`);
      for (const [k, ips] of this.peers) out.push(`public_key=${k}`, ...ips.map((ip) => `allowed_ip=${ip}`));
      return `${out.join('\n')}\nerrno=0\n\n`;
    }
    this.sets.push(req);
    let peer: string | undefined;
    for (const l of lines.slice(1)) {
      const [k, v = ''] = l.split('=');
      if (k === 'listen_port') this.port = Number(v);
      else if (k === 'private_key') this.priv = v === '0'.repeat(64) ? '' : v;
      else if (k === 'replace_peers') this.peers.clear();
      else if (k === 'public_key') {
        peer = v;
        if (!this.peers.has(v)) this.peers.set(v, []);
      } else if (k === 'remove' && peer) this.peers.delete(peer);
      else if (k === 'replace_allowed_ips' && peer) this.peers.set(peer, []);
      else if (k === 'allowed_ip' && peer) this.peers.get(peer)?.push(v);
    }
    return 'errno=0\n\n';
  }
  kill(signal: NodeJS.Signals = 'SIGTERM'): boolean {
    this.server.close();
    this.signalCode = signal;
    queueMicrotask(() => this.emit('exit', null, signal));
    return true;
  }
}

describe('UAPI backend with a fake wireguard-go', () => {
  let dir = '';
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('starts, configures, restarts after an exit, and re-applies the configuration', async () => {
    dir = mkdtempSync(join(tmpdir(), 'wgctrl-run-'));
    const procs: FakeWireguardGo[] = [];
    const restarted: string[] = [];
    const w = createWgctrl({
      backend: 'uapi',
      uapiRunDir: dir,
      backoffMs: 5,
      onRestart: (n) => {
        restarted.push(n);
      },
      spawn: (cmd, args) => {
        expect([cmd, ...args]).toEqual(['wireguard-go', '-f', 'wgf0']);
        const p = new FakeWireguardGo(join(dir, 'wgf0.sock'), () => undefined);
        procs.push(p);
        return p;
      },
    });
    await w.createDevice('wgf0');
    expect(await w.listDevices()).toEqual(['wgf0']);
    await w.configureDevice('wgf0', {
      privateKey: b64(1),
      listenPort: 40001,
      peers: [{ publicKey: b64(2), allowedIps: ['10.0.0.2/32'] }],
    });
    await w.configureDevice('wgf0', { peers: [{ publicKey: b64(3), allowedIps: ['10.0.0.3/32'] }] });
    expect(w.supervised()).toEqual([{ name: 'wgf0', pid: procs[0]!.pid, restarts: 0 }]);

    procs[0]!.kill('SIGKILL');
    const deadline = Date.now() + 5000;
    while (restarted.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(restarted).toEqual(['wgf0']);
    expect(w.supervised()).toEqual([{ name: 'wgf0', pid: procs[1]!.pid, restarts: 1 }]);
    // The new process got the whole last configuration in one set, with replace_peers.
    expect(procs[1]!.sets).toHaveLength(1);
    expect(procs[1]!.sets[0]).toContain('replace_peers=true');
    expect(procs[1]!.sets[0]).toContain(`private_key=${hex(1)}`);
    const dev = await w.getDevice('wgf0');
    expect(dev.listenPort).toBe(40001);
    expect(dev.peers.map((p) => [p.publicKey, p.allowedIps])).toEqual([
      [b64(2), ['10.0.0.2/32']],
      [b64(3), ['10.0.0.3/32']],
    ]);

    await w.deleteDevice('wgf0');
    expect(procs[1]!.signalCode).toBe('SIGTERM');
    expect(await w.listDevices()).toEqual([]);
    expect(w.supervised()).toEqual([]);
    await w.close();
  });
});
