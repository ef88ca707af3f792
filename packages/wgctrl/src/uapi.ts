/**
 * The cross-platform UAPI (https://www.wireguard.com/xplatform/), spoken by wireguard-go and
 * boringtun over a Unix socket: `get=1` and `set=1` requests of `key=value` lines ended by an empty
 * line, replies of `key=value` lines ended by `errno=N` and an empty line. Keys are hex on this
 * wire. The codec is pure; `createUapiConnection` carries one request at a time over a socket
 * (a request sent straight after a `set` in the same write goes unanswered: wait for each reply).
 */
import { connect, type Socket } from 'node:net';
import { wgKeyToHex } from '@bmx7/crypto';
import type { Result } from '@bmx7/netlink';
import { formatEndpoint, formatPrefix, parseEndpoint, parsePrefix } from './addr.js';
import { WgctrlError } from './errors.js';
import { type Change, type DeviceState, isZeroKey, type PeerState, publicKeyOf } from './state.js';

export const UAPI_GET = 'get=1\n\n';
const ZERO_HEX = '0'.repeat(64);

/**
 * A `set=1` request. Device lines come first and listen_port leads them: binding the port is the
 * one step that fails at run time (EADDRINUSE), and the UAPI applies lines in order, so a refused
 * port leaves the rest untouched. `remove` and `update_only` follow `public_key` at once, as
 * wireguard-go requires.
 */
export function encodeUapiSet(ch: Change): string {
  const l: string[] = ['set=1'];
  if (ch.listenPort !== undefined) l.push(`listen_port=${ch.listenPort}`);
  if (ch.privateKey !== undefined)
    l.push(`private_key=${ch.privateKey ? wgKeyToHex(ch.privateKey) : ZERO_HEX}`);
  if (ch.fwmark !== undefined) l.push(`fwmark=${ch.fwmark}`);
  if (ch.replacePeers) l.push('replace_peers=true');
  for (const p of ch.peers) {
    l.push(`public_key=${wgKeyToHex(p.publicKey)}`);
    if (p.remove) {
      l.push('remove=true');
      continue;
    }
    if (p.updateOnly) l.push('update_only=true');
    if (p.presharedKey !== undefined)
      l.push(`preshared_key=${p.presharedKey ? wgKeyToHex(p.presharedKey) : ZERO_HEX}`);
    if (p.endpoint !== undefined) l.push(`endpoint=${formatEndpoint(p.endpoint)}`);
    if (p.persistentKeepalive !== undefined) l.push(`persistent_keepalive_interval=${p.persistentKeepalive}`);
    if (p.replaceAllowedIps) l.push('replace_allowed_ips=true');
    for (const a of p.allowedIps) l.push(`allowed_ip=${formatPrefix(a)}`);
  }
  return `${l.join('\n')}\n\n`;
}

export interface UapiReply {
  /** 0, or the positive errno (the wire carries it negated). */
  errno: number;
  /** The key=value lines before the errno line. */
  pairs: [string, string][];
}

/** Length of the first complete reply in `text` (up to and including its blank line), or -1. */
export function uapiReplyLength(text: string): number {
  if (text.startsWith('\n')) return 1; // an empty reply line: malformed, but complete
  const i = text.indexOf('\n\n');
  return i < 0 ? -1 : i + 2;
}

/** Parses one complete reply: lines of key=value, the last of them `errno=N`, then a blank line. */
export function decodeUapiReply(text: string): Result<UapiReply> {
  if (!text.endsWith('\n\n')) return { ok: false, reason: 'reply does not end with a blank line' };
  const lines = text.slice(0, -2).split('\n');
  const pairs: [string, string][] = [];
  for (const line of lines) {
    const eq = line.indexOf('=');
    if (eq <= 0) return { ok: false, reason: `malformed reply line ${JSON.stringify(line.slice(0, 40))}` };
    pairs.push([line.slice(0, eq), line.slice(eq + 1)]);
  }
  const last = pairs.pop();
  if (last?.[0] !== 'errno') return { ok: false, reason: 'reply without a final errno line' };
  if (!/^-?\d{1,10}$/.test(last[1])) return { ok: false, reason: 'errno is not a number' };
  return { ok: true, value: { errno: Math.abs(Number(last[1])), pairs } };
}

function num(v: string, max: number): number | undefined {
  if (!/^\d{1,20}$/.test(v)) return undefined;
  const n = Number(v);
  return n <= max ? n : undefined;
}

/** The device described by the pairs of a `get` reply. Unknown keys are skipped; bad values reject it. */
export function decodeUapiDevice(name: string, pairs: readonly [string, string][]): Result<DeviceState> {
  const dev: DeviceState = { name, privateKey: null, publicKey: null, listenPort: 0, fwmark: 0, peers: [] };
  let peer: PeerState | undefined;
  let hsSec = 0;
  let hsNsec = 0;
  const fail = (k: string): Result<DeviceState> => ({ ok: false, reason: `bad value for ${k}` });
  const hexKey = (v: string) => {
    if (v.length !== 64) return undefined;
    // Buffer stops at the first character that is not hex, so a bad key comes out short.
    const b = Buffer.from(v, 'hex');
    return b.length === 32 ? Uint8Array.from(b) : undefined;
  };
  const endPeer = () => {
    if (peer) peer.lastHandshakeMs = hsSec * 1000 + Math.floor(hsNsec / 1e6);
  };
  for (const [k, v] of pairs) {
    if (k === 'public_key') {
      const key = hexKey(v);
      if (!key) return fail(k);
      endPeer();
      peer = {
        publicKey: key,
        presharedKey: null,
        endpoint: null,
        persistentKeepalive: 0,
        lastHandshakeMs: 0,
        rxBytes: 0,
        txBytes: 0,
        allowedIps: [],
      };
      hsSec = 0;
      hsNsec = 0;
      dev.peers.push(peer);
      continue;
    }
    if (!peer) {
      if (k === 'private_key') {
        const key = hexKey(v);
        if (!key) return fail(k);
        dev.privateKey = isZeroKey(key) ? null : key;
      } else if (k === 'listen_port') {
        const n = num(v, 65535);
        if (n === undefined) return fail(k);
        dev.listenPort = n;
      } else if (k === 'fwmark') {
        const n = num(v, 0xffffffff);
        if (n === undefined) return fail(k);
        dev.fwmark = n;
      }
      continue;
    }
    switch (k) {
      case 'preshared_key': {
        const key = hexKey(v);
        if (!key) return fail(k);
        peer.presharedKey = isZeroKey(key) ? null : key;
        break;
      }
      case 'endpoint': {
        const e = parseEndpoint(v);
        if (!e.ok) return fail(k);
        peer.endpoint = e.value;
        break;
      }
      case 'allowed_ip': {
        const a = parsePrefix(v);
        if (!a.ok || !v.includes('/')) return fail(k);
        peer.allowedIps.push(a.value);
        break;
      }
      case 'persistent_keepalive_interval': {
        const n = num(v, 65535);
        if (n === undefined) return fail(k);
        peer.persistentKeepalive = n;
        break;
      }
      case 'last_handshake_time_sec':
      case 'last_handshake_time_nsec':
      case 'rx_bytes':
      case 'tx_bytes': {
        const n = num(v, Number.MAX_SAFE_INTEGER);
        if (n === undefined) return fail(k);
        if (k === 'last_handshake_time_sec') hsSec = n;
        else if (k === 'last_handshake_time_nsec') hsNsec = n;
        else if (k === 'rx_bytes') peer.rxBytes = n;
        else peer.txBytes = n;
        break;
      }
      default:
        break; // protocol_version and keys of newer implementations
    }
  }
  endPeer();
  if (dev.privateKey) dev.publicKey = publicKeyOf(dev.privateKey);
  return { ok: true, value: dev };
}

export interface UapiConnection {
  /** Sends one request and resolves with its complete reply text. */
  request(text: string): Promise<string>;
  /** True once the connection failed or was closed; make a new one. */
  readonly closed: boolean;
  close(): void;
}

/**
 * A connection to a UAPI socket. Requests queue and go one at a time. A socket that closes
 * mid-reply, a reply that never completes or one larger than `maxReplyBytes` rejects the request
 * and ends the connection (make a new one).
 */
export function createUapiConnection(
  path: string,
  opts: { device: string; timeoutMs?: number; maxReplyBytes?: number; connectFn?: (path: string) => Socket },
): UapiConnection {
  const timeoutMs = opts.timeoutMs ?? 5000;
  const maxReply = opts.maxReplyBytes ?? 64 * 1024 * 1024;
  const device = opts.device;
  let sock: Socket | undefined;
  let broken: WgctrlError | undefined;
  let buf = '';
  let waiter: { resolve: (s: string) => void; reject: (e: Error) => void } | undefined;
  let chain: Promise<unknown> = Promise.resolve();

  const fail = (err: WgctrlError) => {
    broken ??= err;
    const w = waiter;
    waiter = undefined;
    sock?.destroy();
    w?.reject(err);
  };

  const open = () => {
    const s = (opts.connectFn ?? connect)(path);
    s.setEncoding('utf8');
    s.setTimeout(timeoutMs);
    s.on('data', (chunk: string) => {
      buf += chunk;
      if (buf.length > maxReply)
        return fail(new WgctrlError('ERR_WG_PROTOCOL', 'UAPI reply too large', { device, backend: 'uapi' }));
      if (!waiter)
        return fail(new WgctrlError('ERR_WG_PROTOCOL', 'unsolicited UAPI data', { device, backend: 'uapi' }));
      const n = uapiReplyLength(buf);
      if (n < 0) return;
      const reply = buf.slice(0, n);
      buf = buf.slice(n);
      const w = waiter;
      waiter = undefined;
      // An idle cached connection must not keep the process alive.
      s.unref();
      w.resolve(reply);
    });
    s.on('timeout', () => {
      if (waiter)
        fail(
          new WgctrlError('ERR_WG_TIMEOUT', `no UAPI reply in ${timeoutMs} ms`, { device, backend: 'uapi' }),
        );
    });
    s.on('error', (err: NodeJS.ErrnoException) => {
      const code =
        err.code === 'ENOENT' || err.code === 'ECONNREFUSED'
          ? 'ERR_WG_NO_DEVICE'
          : err.code === 'EACCES' || err.code === 'EPERM'
            ? 'ERR_WG_PERMISSION'
            : 'ERR_WG_PROTOCOL';
      const what =
        code === 'ERR_WG_NO_DEVICE' ? 'no UAPI socket answers' : `UAPI socket error ${err.code ?? ''}`;
      fail(new WgctrlError(code, what, { device, backend: 'uapi', cause: err }));
    });
    s.on('close', () => {
      fail(
        new WgctrlError(
          'ERR_WG_PROTOCOL',
          buf ? 'UAPI reply truncated: the socket closed mid-reply' : 'UAPI socket closed without a reply',
          {
            device,
            backend: 'uapi',
          },
        ),
      );
    });
    return s;
  };

  return {
    get closed() {
      return broken !== undefined;
    },
    request(text) {
      const run = () =>
        new Promise<string>((resolve, reject) => {
          if (broken) return reject(broken);
          sock ??= open();
          sock.ref();
          waiter = { resolve, reject };
          sock.write(text);
        });
      const p = chain.then(run, run);
      chain = p.catch(() => undefined);
      return p;
    },
    close() {
      broken ??= new WgctrlError('ERR_WG_CLOSED', 'UAPI connection closed', { device, backend: 'uapi' });
      sock?.destroy();
      sock = undefined;
    },
  };
}
