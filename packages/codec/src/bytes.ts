/** Small byte helpers shared by the codecs: big-endian reads/writes, hex, IPv6 text. */

export function u16(b: Uint8Array, off: number): number {
  return ((b[off] ?? 0) << 8) | (b[off + 1] ?? 0);
}

export function u32(b: Uint8Array, off: number): number {
  return (
    (((b[off] ?? 0) << 24) | ((b[off + 1] ?? 0) << 16) | ((b[off + 2] ?? 0) << 8) | (b[off + 3] ?? 0)) >>> 0
  );
}

export function put16(b: Uint8Array, off: number, v: number): void {
  b[off] = (v >>> 8) & 0xff;
  b[off + 1] = v & 0xff;
}

export function put32(b: Uint8Array, off: number, v: number): void {
  b[off] = (v >>> 24) & 0xff;
  b[off + 1] = (v >>> 16) & 0xff;
  b[off + 2] = (v >>> 8) & 0xff;
  b[off + 3] = v & 0xff;
}

/** A copy of `len` bytes at `off` (decoded values never alias the input buffer). */
export function take(b: Uint8Array, off: number, len: number): Uint8Array {
  return b.slice(off, off + len);
}

export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Index of the first differing byte, or -1 when equal (a length difference counts at the shorter end). */
export function firstDifference(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

export function toHex(b: Uint8Array): string {
  let s = '';
  for (const x of b) s += HEX[x];
  return s;
}

export function fromHex(s: string): Uint8Array {
  if (s.length % 2 || /[^0-9a-fA-F]/.test(s)) throw new TypeError('fromHex: not a hex string');
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** RFC 5952 text of a 16-byte IPv6 address (lower case, longest zero run compressed). */
export function ip6ToString(a: Uint8Array): string {
  const g: number[] = [];
  for (let i = 0; i < 16; i += 2) g.push(u16(a, i));
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (xs: number[]) => xs.map((x) => x.toString(16)).join(':');
  if (bestStart < 0) return hex(g);
  return `${hex(g.slice(0, bestStart))}::${hex(g.slice(bestStart + bestLen))}`;
}

/** Parses IPv6 text (with `::`, an IPv4 tail such as `::ffff:10.0.0.1`, no zone) into 16 bytes; throws on bad text. */
export function ip6FromString(s: string): Uint8Array {
  // an IPv4 tail stands for the last two groups
  const colon = s.lastIndexOf(':');
  if (colon >= 0 && s.includes('.', colon)) {
    const v4 = ip4FromString(s.slice(colon + 1));
    s = `${s.slice(0, colon + 1)}${((v4[0]! << 8) | v4[1]!).toString(16)}:${((v4[2]! << 8) | v4[3]!).toString(16)}`;
  }
  const parts = s.split('::');
  if (parts.length > 2) throw new TypeError(`bad IPv6 address ${s}`);
  const groups = (x: string | undefined) => (x ? x.split(':') : []);
  const head = groups(parts[0]);
  const tail = groups(parts[1]);
  const fill = parts.length === 2 ? 8 - head.length - tail.length : 0;
  const all = [...head, ...Array<string>(Math.max(fill, 0)).fill('0'), ...tail];
  if (all.length !== 8 || (parts.length === 2 && fill < 1)) throw new TypeError(`bad IPv6 address ${s}`);
  const out = new Uint8Array(16);
  all.forEach((x, i) => {
    if (!/^[0-9a-fA-F]{1,4}$/.test(x)) throw new TypeError(`bad IPv6 address ${s}`);
    put16(out, 2 * i, Number.parseInt(x, 16));
  });
  return out;
}

export function ip4ToString(a: Uint8Array): string {
  return `${a[0]}.${a[1]}.${a[2]}.${a[3]}`;
}

export function ip4FromString(s: string): Uint8Array {
  const p = s.split('.');
  if (p.length !== 4 || p.some((x) => !/^\d{1,3}$/.test(x) || Number(x) > 255))
    throw new TypeError(`bad IPv4 address ${s}`);
  return Uint8Array.from(p.map(Number));
}

/** Latin-1 text of bytes (one char per byte: lossless for any byte string). */
export function latin1(b: Uint8Array): string {
  let s = '';
  for (const x of b) s += String.fromCharCode(x);
  return s;
}

export function fromLatin1(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i) & 0xff;
  return out;
}
