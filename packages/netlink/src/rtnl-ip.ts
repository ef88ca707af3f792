/**
 * IP addresses in text form ↔ the raw bytes rtnetlink carries (IFA_ADDRESS, RTA_DST, RTA_GATEWAY,
 * FRA_DST …). IPv4 as 4 bytes, IPv6 as 16; text out is the canonical RFC 5952 form.
 */
import { isIPv4, isIPv6 } from 'node:net';

export const AF_INET = 2;
export const AF_INET6 = 10;

/** The bytes of an IPv4 or IPv6 address (no prefix length, no `%scope`); throws RangeError on bad text. */
export function ipToBytes(text: string): Uint8Array {
  if (isIPv4(text)) return Uint8Array.from(text.split('.').map(Number));
  if (!isIPv6(text)) throw new RangeError(`not an IP address: ${JSON.stringify(text)}`);
  let s = text;
  const out = new Uint8Array(16);
  // a trailing dotted IPv4 part (::ffff:1.2.3.4) becomes two groups
  const dot = s.lastIndexOf('.');
  if (dot >= 0) {
    const colon = s.lastIndexOf(':');
    const v4 = ipToBytes(s.slice(colon + 1));
    s = `${s.slice(0, colon + 1)}${((v4[0]! << 8) | v4[1]!).toString(16)}:${((v4[2]! << 8) | v4[3]!).toString(16)}`;
  }
  const [head, tail] = s.includes('::') ? s.split('::') : [s, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...new Array(8 - h.length - t.length).fill('0'), ...t];
  groups.forEach((g, i) => {
    const v = Number.parseInt(g, 16);
    out[2 * i] = v >> 8;
    out[2 * i + 1] = v & 0xff;
  });
  return out;
}

/** Text form of 4 or 16 address bytes (RFC 5952: lower case, longest zero run as `::`). */
export function bytesToIp(b: Uint8Array): string {
  if (b.length === 4) return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
  if (b.length !== 16) return `<${b.length}-byte address>`;
  const g: number[] = [];
  for (let i = 0; i < 16; i += 2) g.push((b[i]! << 8) | b[i + 1]!);
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = g.map((x) => x.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

/** Splits `addr/len` (len defaults to the full length); throws RangeError on bad text. */
export function parsePrefix(text: string): { family: number; address: Uint8Array; prefixLen: number } {
  const slash = text.indexOf('/');
  const address = ipToBytes(slash < 0 ? text : text.slice(0, slash));
  const max = address.length * 8;
  const prefixLen = slash < 0 ? max : Number(text.slice(slash + 1));
  if (!Number.isInteger(prefixLen) || prefixLen < 0 || prefixLen > max) {
    throw new RangeError(`bad prefix length in ${JSON.stringify(text)}`);
  }
  return { family: address.length === 4 ? AF_INET : AF_INET6, address, prefixLen };
}
