/**
 * IP addresses, prefixes and endpoints in the text forms `wg` prints (RFC 5952 for IPv6), parsed
 * to bytes for the kernel's sockaddr and allowed-IP attributes. Hostnames are not accepted: the
 * UAPI refuses them too (errno -22), and resolving them is the caller's business.
 */
import type { Result } from '@bmx7/netlink';

export interface IpAddr {
  family: 4 | 6;
  bytes: Uint8Array;
}

export interface IpPrefix extends IpAddr {
  cidr: number;
}

export interface Endpoint extends IpAddr {
  port: number;
  /** IPv6 scope (interface index) for link-local addresses, 0 otherwise. */
  scopeId: number;
}

function parseV4(s: string): Uint8Array | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i]!;
    if (!/^\d{1,3}$/.test(p) || (p.length > 1 && p[0] === '0')) return undefined;
    const v = Number(p);
    if (v > 255) return undefined;
    out[i] = v;
  }
  return out;
}

function parseV6(s: string): Uint8Array | undefined {
  if (!/^[0-9a-fA-F:.]+$/.test(s)) return undefined;
  const dbl = s.indexOf('::');
  if (dbl !== s.lastIndexOf('::') && dbl >= 0) return undefined;
  const groups = (part: string): number[] | undefined => {
    if (part === '') return [];
    const out: number[] = [];
    const items = part.split(':');
    for (let i = 0; i < items.length; i++) {
      const it = items[i]!;
      if (i === items.length - 1 && it.includes('.')) {
        const v4 = parseV4(it);
        if (!v4) return undefined;
        out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(it)) return undefined;
        out.push(Number.parseInt(it, 16));
      }
    }
    return out;
  };
  let words: number[];
  if (dbl >= 0) {
    if (s.slice(0, dbl).includes('.')) return undefined;
    const head = groups(s.slice(0, dbl));
    const tail = groups(s.slice(dbl + 2));
    if (!head || !tail || head.length + tail.length > 7) return undefined;
    words = [...head, ...new Array(8 - head.length - tail.length).fill(0), ...tail];
  } else {
    const all = groups(s);
    if (all?.length !== 8) return undefined;
    words = all;
  }
  const out = new Uint8Array(16);
  words.forEach((w, i) => {
    out[2 * i] = w >> 8;
    out[2 * i + 1] = w & 0xff;
  });
  return out;
}

export function parseIp(s: string): IpAddr | undefined {
  const v4 = parseV4(s);
  if (v4) return { family: 4, bytes: v4 };
  const v6 = parseV6(s);
  return v6 ? { family: 6, bytes: v6 } : undefined;
}

/** IPv4 dotted quad, or IPv6 compressed as RFC 5952 (and inet_ntop) write it. */
export function formatIp(a: IpAddr): string {
  if (a.family === 4) return Array.from(a.bytes.subarray(0, 4)).join('.');
  const w: number[] = [];
  for (let i = 0; i < 8; i++) w.push((a.bytes[2 * i]! << 8) | a.bytes[2 * i + 1]!);
  // IPv4-mapped addresses keep their dotted tail, as inet_ntop prints them.
  if (w.slice(0, 5).every((x) => x === 0) && w[5] === 0xffff) {
    return `::ffff:${formatIp({ family: 4, bytes: a.bytes.subarray(12, 16) })}`;
  }
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (w[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && w[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (xs: number[]) => xs.map((x) => x.toString(16)).join(':');
  if (best < 0) return hex(w);
  return `${hex(w.slice(0, best))}::${hex(w.slice(best + bestLen))}`;
}

/** "10.0.0.0/24", "fd00::/64"; a bare address is a host prefix. Host bits are cleared, as WireGuard does. */
export function parsePrefix(s: string): Result<IpPrefix> {
  const slash = s.indexOf('/');
  const addr = parseIp(slash < 0 ? s : s.slice(0, slash));
  if (!addr) return { ok: false, reason: 'not an IP address' };
  const max = addr.family === 4 ? 32 : 128;
  let cidr = max;
  if (slash >= 0) {
    const c = s.slice(slash + 1);
    if (!/^\d{1,3}$/.test(c) || Number(c) > max)
      return { ok: false, reason: `prefix length must be 0 to ${max}` };
    cidr = Number(c);
  }
  const bytes = addr.bytes.slice();
  for (let bit = cidr; bit < max; bit++) bytes[bit >> 3]! &= ~(0x80 >> (bit & 7));
  return { ok: true, value: { family: addr.family, bytes, cidr } };
}

export function formatPrefix(p: IpPrefix): string {
  return `${formatIp(p)}/${p.cidr}`;
}

/** "192.0.2.1:51820", "[2001:db8::1]:51820", "[fe80::1%3]:51820" (numeric scope only). */
export function parseEndpoint(s: string): Result<Endpoint> {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(s);
  if (!m) return { ok: false, reason: 'not IP:port (IPv6 in brackets; no hostnames)' };
  const port = Number(m[3]);
  if (port < 1 || port > 65535) return { ok: false, reason: 'port must be 1 to 65535' };
  let host = m[1] ?? m[2]!;
  let scopeId = 0;
  const pct = host.indexOf('%');
  if (m[1] !== undefined && pct >= 0) {
    const scope = host.slice(pct + 1);
    if (!/^\d+$/.test(scope)) return { ok: false, reason: 'IPv6 scope must be an interface index' };
    scopeId = Number(scope);
    host = host.slice(0, pct);
  }
  const addr = parseIp(host);
  if (!addr || (m[1] !== undefined) !== (addr.family === 6)) {
    return { ok: false, reason: 'not IP:port (IPv6 in brackets; no hostnames)' };
  }
  return { ok: true, value: { ...addr, port, scopeId } };
}

export function formatEndpoint(e: Endpoint): string {
  if (e.family === 4) return `${formatIp(e)}:${e.port}`;
  return `[${formatIp(e)}${e.scopeId ? `%${e.scopeId}` : ''}]:${e.port}`;
}
