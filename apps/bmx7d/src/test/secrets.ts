/**
 * Key material of a test node, as the texts to look for in outputs: the node's RSA private key (its
 * DER file in hex and base64, and its private numbers d, p, q, dp, dq, qi), the WireGuard private
 * key and the ML-KEM seed (the wg plugin's files), static PSK files, and PSKs read off WireGuard
 * devices. Each secret becomes its hex (both cases), and its base64 and base64url at each of the
 * three byte alignments a longer encoded text could put it at. A hit names the secret and the
 * form, never the secret itself.
 */
import { createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Secret {
  /** What it is, for a failure message (`n1 WireGuard private key`). */
  readonly name: string;
  /** The texts that would show it, each with its form. */
  readonly needles: readonly { readonly form: string; readonly text: string }[];
}

/** The forms of some secret bytes (at least 12, so that no needle is short enough to match by chance). */
export function secretOf(name: string, bytes: Uint8Array): Secret {
  if (bytes.length < 12) throw new Error(`${name}: ${bytes.length} bytes is too short to look for`);
  const b = Buffer.from(bytes);
  const needles = [
    { form: 'hex', text: b.toString('hex') },
    { form: 'HEX', text: b.toString('hex').toUpperCase() },
  ];
  for (let k = 0; k < 3; k++) {
    // the complete 3-byte groups from byte k on: what any base64 text holding the bytes at that
    // alignment contains
    const groups = Math.floor((b.length - k) / 3);
    const part = b.subarray(k, k + groups * 3);
    needles.push({ form: `base64+${k}`, text: part.toString('base64') });
    needles.push({ form: `base64url+${k}`, text: part.toString('base64url') });
  }
  return { name, needles };
}

/** A key file's bytes as written (the WireGuard key and the KEM seed are base64 text). */
const base64File = (path: string): Buffer => Buffer.from(readFileSync(path, 'utf8').trim(), 'base64');

/**
 * A node's secrets from its files: `rsa.der` in `dir` (bmx7dArgs' keyPath), the wg plugin's
 * `wg/private.key` and `wg/kem.key` beside it (its private files), and the given PSK files.
 */
export function nodeSecrets(node: string, dir: string, pskFiles: readonly string[] = []): Secret[] {
  const der = readFileSync(join(dir, 'rsa.der'));
  const jwk = createPrivateKey({ key: der, format: 'der', type: 'pkcs1' }).export({ format: 'jwk' });
  const out: Secret[] = [secretOf(`${node} RSA key file`, der)];
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

/** `<secret name> as <form> in <where>` for every needle found. */
export function findSecrets(where: string, text: string, secrets: readonly Secret[]): string[] {
  const hits: string[] = [];
  for (const s of secrets)
    for (const n of s.needles) if (text.includes(n.text)) hits.push(`${s.name} as ${n.form} in ${where}`);
  return hits;
}
