/**
 * The `wg` tool backend: `wg show <if> dump` to read, `wg set` to write, `ip link` to create and
 * delete (kernel devices only: `wg` cannot start a userspace implementation). Private and
 * pre-shared keys go through files of mode 0600 in a private temporary directory that is removed
 * afterwards; the dump's first line holds the private key and is never logged. Slow (a process per
 * call) but independent of this package's codecs, so the tests use it as the oracle.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { wgKeyFromBase64, wgKeyToBase64 } from '@bmx7/crypto';
import type { Result } from '@bmx7/netlink';
import { formatEndpoint, formatPrefix, parseEndpoint, parsePrefix } from './addr.js';
import { type Backend, validIfname } from './backend.js';
import { WgctrlError } from './errors.js';
import { applyConfig, type Change, type DeviceState, type PeerState } from './state.js';

export interface WgToolBackendOptions {
  netns?: string | undefined;
  /** Path or name of `wg`. Default "wg". */
  wg?: string | undefined;
  /** Path or name of `ip`. Default "ip". */
  ip?: string | undefined;
  timeoutMs?: number | undefined;
}

const B64 = /^[A-Za-z0-9+/]{43}=$/;

/** Parses `wg show <if> dump` (tab-separated: one device line, then one line per peer). */
export function decodeWgDump(name: string, text: string): Result<DeviceState> {
  const lines = text.split('\n').filter((l) => l.length > 0);
  const head = lines.shift()?.split('\t');
  if (head?.length !== 4) return { ok: false, reason: 'device line must have 4 fields' };
  const [priv, pub, port, fwmark] = head as [string, string, string, string];
  const key = (s: string) => (s === '(none)' ? null : B64.test(s) ? wgKeyFromBase64(s) : undefined);
  const dev: DeviceState = { name, privateKey: null, publicKey: null, listenPort: 0, fwmark: 0, peers: [] };
  const pk = key(priv);
  const pu = key(pub);
  if (pk === undefined || pu === undefined) return { ok: false, reason: 'bad device key' };
  dev.privateKey = pk;
  dev.publicKey = pu;
  if (!/^\d+$/.test(port)) return { ok: false, reason: 'bad listen port' };
  dev.listenPort = Number(port);
  if (fwmark !== 'off') {
    const v = fwmark.startsWith('0x') ? Number.parseInt(fwmark.slice(2), 16) : Number(fwmark);
    if (!Number.isInteger(v) || v < 0) return { ok: false, reason: 'bad fwmark' };
    dev.fwmark = v;
  }
  for (const line of lines) {
    const f = line.split('\t');
    if (f.length !== 8) return { ok: false, reason: 'peer line must have 8 fields' };
    const [pubk, psk, endpoint, ips, hs, rx, tx, ka] = f as [
      string,
      string,
      string,
      string,
      string,
      string,
      string,
      string,
    ];
    const pkey = key(pubk);
    const pskey = key(psk);
    if (!pkey || pskey === undefined) return { ok: false, reason: 'bad peer key' };
    const peer: PeerState = {
      publicKey: pkey,
      presharedKey: pskey,
      endpoint: null,
      persistentKeepalive: 0,
      lastHandshakeMs: 0,
      rxBytes: 0,
      txBytes: 0,
      allowedIps: [],
    };
    if (endpoint !== '(none)') {
      const e = parseEndpoint(endpoint);
      if (!e.ok) return { ok: false, reason: `bad endpoint: ${e.reason}` };
      peer.endpoint = e.value;
    }
    if (ips !== '(none)') {
      for (const a of ips.split(',')) {
        const p = parsePrefix(a);
        if (!p.ok) return { ok: false, reason: `bad allowed IP: ${p.reason}` };
        peer.allowedIps.push(p.value);
      }
    }
    if (![hs, rx, tx].every((x) => /^\d+$/.test(x)) || !(ka === 'off' || /^\d+$/.test(ka))) {
      return { ok: false, reason: 'bad peer counters' };
    }
    peer.lastHandshakeMs = Number(hs) * 1000;
    peer.rxBytes = Number(rx);
    peer.txBytes = Number(tx);
    peer.persistentKeepalive = ka === 'off' ? 0 : Number(ka);
    dev.peers.push(peer);
  }
  return { ok: true, value: dev };
}

/**
 * The arguments of `wg set` for a change, given the current state (`wg set` cannot replace peers,
 * only update existing ones, or add allowed IPs without replacing them, so those are worked out
 * here). `keyFile` writes a secret to a private file and returns its path.
 */
export function wgSetArgs(
  name: string,
  cur: DeviceState,
  ch: Change,
  keyFile: (key: Uint8Array | null) => string,
): string[] {
  const args = ['set', name];
  if (ch.listenPort !== undefined) args.push('listen-port', String(ch.listenPort));
  if (ch.fwmark !== undefined) args.push('fwmark', ch.fwmark ? String(ch.fwmark) : 'off');
  if (ch.privateKey !== undefined) args.push('private-key', keyFile(ch.privateKey));
  const after = applyConfig(cur, ch);
  // REPLACE_PEERS drops every peer and starts the listed ones afresh: do the same, in order.
  if (ch.replacePeers) for (const p of cur.peers) args.push('peer', wgKeyToBase64(p.publicKey), 'remove');
  for (const p of ch.peers) {
    const k = wgKeyToBase64(p.publicKey);
    const exists = cur.peers.some((c) => wgKeyToBase64(c.publicKey) === k) && !ch.replacePeers;
    if (p.remove) {
      args.push('peer', k, 'remove');
      continue;
    }
    if (p.updateOnly && !exists) continue;
    args.push('peer', k);
    if (p.presharedKey !== undefined) args.push('preshared-key', keyFile(p.presharedKey));
    if (p.endpoint !== undefined) args.push('endpoint', formatEndpoint(p.endpoint));
    if (p.persistentKeepalive !== undefined)
      args.push('persistent-keepalive', p.persistentKeepalive ? String(p.persistentKeepalive) : 'off');
    if (p.replaceAllowedIps || p.allowedIps.length > 0) {
      // `wg set … allowed-ips` always replaces the list: give it the list the change leads to.
      const final = after.peers.find((x) => wgKeyToBase64(x.publicKey) === k);
      args.push('allowed-ips', (final?.allowedIps ?? []).map(formatPrefix).join(','));
    }
  }
  return args;
}

export function createWgToolBackend(o: WgToolBackendOptions = {}): Backend {
  const wg = o.wg ?? 'wg';
  const ip = o.ip ?? 'ip';
  const timeout = o.timeoutMs ?? 10_000;

  const run = (cmd: string, args: string[], device?: string) =>
    new Promise<string>((resolve, reject) => {
      const [c, a] = o.netns ? ['ip', ['netns', 'exec', o.netns, cmd, ...args]] : [cmd, args];
      execFile(
        c,
        a as string[],
        { timeout, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' },
        (err, stdout, stderr) => {
          if (!err) return resolve(stdout);
          // stderr of wg and ip names devices and options, never key material (keys go by file).
          const why = stderr.trim().split('\n').slice(-1)[0] ?? '';
          // Without a userspace socket `wg` asks the kernel, which answers EPROTONOSUPPORT where it has no
          // WireGuard at all: either way there is no such device.
          const code =
            /No such device|does not exist|Cannot find device|(access|modify) interface: Protocol not supported/i.test(
              why,
            )
              ? 'ERR_WG_NO_DEVICE'
              : /File exists/i.test(why)
                ? 'ERR_WG_EXISTS'
                : /Operation not permitted|Permission denied/i.test(why)
                  ? 'ERR_WG_PERMISSION'
                  : (err as NodeJS.ErrnoException).code === 'ENOENT' || /Unknown device type/i.test(why)
                    ? 'ERR_WG_UNAVAILABLE'
                    : 'ERR_WG_TOOL';
          reject(
            new WgctrlError(code, `${cmd} ${args[0] ?? ''} failed: ${why.slice(0, 200)}`, {
              device,
              backend: 'wg',
              cause: err,
            }),
          );
        },
      );
    });

  const checkName = (name: string) => {
    if (!validIfname(name))
      throw new WgctrlError(
        'ERR_WG_INVALID_CONFIG',
        'device name must be 1 to 15 characters, no "/" or spaces',
        { backend: 'wg' },
      );
  };

  async function read(name: string): Promise<DeviceState> {
    checkName(name);
    const out = await run(wg, ['show', name, 'dump'], name);
    const d = decodeWgDump(name, out);
    if (!d.ok)
      throw new WgctrlError('ERR_WG_PROTOCOL', `unexpected \`wg show dump\` output: ${d.reason}`, {
        device: name,
        backend: 'wg',
      });
    return d.value;
  }

  return {
    kind: 'wg',
    async list() {
      const out = await run(wg, ['show', 'interfaces']);
      return out.split(/\s+/).filter(Boolean).sort();
    },
    read,
    async apply(name, ch) {
      const cur = await read(name);
      const dir = mkdtempSync(join(tmpdir(), 'wgctrl-'));
      let n = 0;
      const keyFile = (k: Uint8Array | null) => {
        if (!k) return '/dev/null';
        const f = join(dir, `k${n++}`);
        writeFileSync(f, `${wgKeyToBase64(k)}\n`, { mode: 0o600 });
        return f;
      };
      try {
        await run(wg, wgSetArgs(name, cur, ch, keyFile), name);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
    async create(name, opts) {
      checkName(name);
      await run(ip, ['link', 'add', name, 'type', 'wireguard'], name);
      if (opts.up) await run(ip, ['link', 'set', name, 'up'], name);
    },
    async remove(name) {
      checkName(name);
      await run(ip, ['link', 'del', name], name);
    },
    async close() {},
  };
}
