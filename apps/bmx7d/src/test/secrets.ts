/**
 * Key material of a test node, as what to look for in outputs: the node's RSA private key (its
 * PKCS#1 DER file and its PKCS#8 form, and its private numbers d, p, q, dp, dq, qi), the WireGuard
 * private key and the ML-KEM seed (the wg plugin's files), static PSK files, and PSKs read off
 * WireGuard devices. Each secret is looked for
 *
 * - whole: its hex (both cases), and its base64 and base64url at each of the three byte alignments
 *   a longer encoded text could put it at;
 * - in parts: 32-character windows, every 48 characters, of each of those texts (a leak may be
 *   partial; for the DER forms only past the public modulus they start with);
 * - as raw bytes, in a binary output.
 *
 * A hit names the secret, the form and the output, never the secret itself.
 */
import { createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Secret {
  /** What it is, for a failure message (`n1 WireGuard private key`). */
  readonly name: string;
  /** The texts that would show it, each with its form. */
  readonly needles: readonly { readonly form: string; readonly text: string }[];
  /** Its bytes, for binary outputs. */
  readonly bytes: Buffer;
}

/** Window length and step of the parts looked for. */
const WINDOW = 32;
const STEP = 48;

/** The windows of a text from `from` (a fraction of its length) on; the whole of a short one. */
function windows(text: string, from: number): string[] {
  if (text.length <= WINDOW) return from === 0 ? [text] : [];
  const out: string[] = [];
  for (let i = Math.floor(text.length * from); i + WINDOW <= text.length; i += STEP)
    out.push(text.slice(i, i + WINDOW));
  return out;
}

/**
 * The forms of some secret bytes (at least 12, so that no needle is short enough to match by
 * chance). `partsFrom`: where in each text its parts start (0.4 for a key file whose first 40 % is
 * the public modulus, which outputs may show).
 */
export function secretOf(name: string, bytes: Uint8Array, opts: { partsFrom?: number } = {}): Secret {
  if (bytes.length < 12) throw new Error(`${name}: ${bytes.length} bytes is too short to look for`);
  const b = Buffer.from(bytes);
  const whole = [
    { form: 'hex', text: b.toString('hex') },
    { form: 'HEX', text: b.toString('hex').toUpperCase() },
  ];
  for (let k = 0; k < 3; k++) {
    // the complete 3-byte groups from byte k on: what any base64 text holding the bytes at that
    // alignment contains
    const groups = Math.floor((b.length - k) / 3);
    const part = b.subarray(k, k + groups * 3);
    whole.push({ form: `base64+${k}`, text: part.toString('base64') });
    whole.push({ form: `base64url+${k}`, text: part.toString('base64url') });
  }
  const parts = whole.flatMap((n) =>
    windows(n.text, opts.partsFrom ?? 0)
      .filter((w) => w !== n.text)
      .map((text) => ({ form: `part of ${n.form}`, text })),
  );
  return { name, needles: [...whole, ...parts], bytes: b };
}

/** A key file's bytes as written (the WireGuard key and the KEM seed are base64 text). */
const base64File = (path: string): Buffer => Buffer.from(readFileSync(path, 'utf8').trim(), 'base64');

/**
 * A node's secrets from its files: `rsa.der` in `dir` (bmx7dArgs' keyPath), the wg plugin's
 * `wg/private.key` and `wg/kem.key` beside it (its private files), and the given PSK files.
 */
export function nodeSecrets(node: string, dir: string, pskFiles: readonly string[] = []): Secret[] {
  const der = readFileSync(join(dir, 'rsa.der'));
  const key = createPrivateKey({ key: der, format: 'der', type: 'pkcs1' });
  const jwk = key.export({ format: 'jwk' });
  const pkcs8 = key.export({ format: 'der', type: 'pkcs8' });
  // the DER forms hold the public modulus first: whole, and in parts only past it (the last 60 %)
  const out: Secret[] = [
    secretOf(`${node} RSA key file`, der, { partsFrom: 0.4 }),
    secretOf(`${node} RSA key as PKCS#8`, pkcs8, { partsFrom: 0.4 }),
  ];
  for (const k of ['d', 'p', 'q', 'dp', 'dq', 'qi'] as const) {
    const v = jwk[k];
    if (typeof v !== 'string') throw new Error(`${node}: RSA key without ${k}`);
    out.push(secretOf(`${node} RSA private number ${k}`, Buffer.from(v, 'base64url')));
  }
  const wg = base64File(join(dir, 'wg', 'private.key'));
  if (wg.length !== 32) throw new Error(`${node}: WireGuard private key of ${wg.length} bytes`);
  out.push(secretOf(`${node} WireGuard private key`, wg));
  out.push(secretOf(`${node} KEM seed`, base64File(join(dir, 'wg', 'kem.key'))));
  for (const f of pskFiles) out.push(secretOf(`${node} PSK file ${f}`, base64File(f)));
  return out;
}

/**
 * `<secret name> as <form> in <where>` for every form found in an output: a text, or bytes (read
 * as Latin-1 for the text forms, and searched for the raw bytes too).
 */
export function findSecrets(where: string, output: string | Buffer, secrets: readonly Secret[]): string[] {
  const text = typeof output === 'string' ? output : output.toString('latin1');
  const hits: string[] = [];
  for (const s of secrets) {
    for (const n of s.needles) if (text.includes(n.text)) hits.push(`${s.name} as ${n.form} in ${where}`);
    if (typeof output !== 'string' && output.includes(s.bytes)) hits.push(`${s.name} as bytes in ${where}`);
  }
  return hits;
}
