/**
 * Golden vectors from the reference captures (fixtures/bmx7-ref): every node id, content hash,
 * description signature, RSA link signature and OGM chain value in them verifies, a flipped byte
 * makes each fail, and the fixture keys re-sign the captured descriptions byte for byte.
 */

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { fixture } from '@bmx7/testenv/env';
import { beforeAll, describe, expect, it } from 'vitest';
import { dhmKeyFromPrivate, dhmMac, dhmSecret, verifyDhmMac } from '../src/dhm.js';
import { contentHash, sha224 } from '../src/hash.js';
import { ip6ToString, nodeIdOf, primaryAddress, shortId, tunnelEndpointAddress } from '../src/identity.js';
import { createChainVerifier, findChainSqn } from '../src/ogm-chain.js';
import { loadNodeKey, type RsaPrivateKey, rsaKeyFromDer, rsaKeyToDer } from '../src/rsa.js';
import { packetDigest, signDescription, verifyDescription, verifyPacketRsa } from '../src/signatures.js';
import { type Capture, type Description, findDescription, hex, readCapture, resolveRef } from './capture.js';
import { verifyCaptures } from './verify-capture.js';

const NAMES = ['startup.pcap', 'line3.pcap', 'tun.pcap', 'rsalink.pcap'] as const;
const NODE_PUBKEY = 1;
const RSA_LINK_PUBKEY = 5;
const HNA6 = 15;

// fixtures/bmx7-ref/README.md
const NODES = {
  n1: { short: '0C476241', primary: 'fd70:c47:6241:3b5f:b8f2:2e3d:37b0:6be' },
  n2: { short: 'C6792132', primary: 'fd70:c679:2132:7144:4f2b:f6eb:b37e:19cb' },
  n3: { short: '6484B2ED', primary: 'fd70:6484:b2ed:c1c9:7e28:b611:6dc0:3894' },
} as const;

function flip(b: Uint8Array, at: number): Uint8Array {
  const c = b.slice();
  c[at % c.length]! ^= 0x01;
  return c;
}

let caps: Record<(typeof NAMES)[number], Capture>;
let all: Capture[];
const contents = new Map<string, { header: number; body: Uint8Array }>();
const keys = new Map<string, RsaPrivateKey>();

function refOf(d: Description, type: number) {
  return d.refs.find((r) => r.expandedType === type);
}

function pubkeyOf(d: Description, type = NODE_PUBKEY): Uint8Array {
  const ref = refOf(d, type);
  if (!ref) throw new Error(`no TLV ${type}`);
  const data = resolveRef(ref, contents);
  if (data) return data;
  // The capture may lack the node key's CONTENT_ADV; the node keys are the fixture keys.
  const k = type === NODE_PUBKEY ? keys.get(hex(d.nodeId)) : undefined;
  if (!k) throw new Error(`content of TLV ${type} of ${hex(d.nodeId)} not captured`);
  return k.publicContent;
}

beforeAll(() => {
  caps = Object.fromEntries(NAMES.map((n) => [n, readCapture(fixture(n))])) as typeof caps;
  all = Object.values(caps);
  for (const c of all) for (const [k, v] of c.contents) contents.set(k, v);
  for (const n of ['n1', 'n2', 'n3']) {
    const k = loadNodeKey(fixture(`keys/${n}.der`));
    keys.set(hex(k.id), k);
  }
});

describe('node identity from the fixture keys', () => {
  for (const [n, want] of Object.entries(NODES)) {
    it(`${n}: node id, short id and primary address as in the fixtures README`, () => {
      const k = loadNodeKey(fixture(`keys/${n}.der`));
      expect(k.type).toBe(6);
      const id = nodeIdOf(k.publicContent);
      expect(hex(id)).toBe(hex(k.id));
      expect(shortId(id)).toBe(want.short);
      expect(ip6ToString(primaryAddress(id))).toBe(want.primary);
    });
    it(`${n}: the key file round-trips byte for byte (DER PKCS#1)`, () => {
      const der = readFileSync(fixture(`keys/${n}.der`));
      expect(hex(rsaKeyToDer(loadNodeKey(fixture(`keys/${n}.der`))))).toBe(der.toString('hex'));
    });
  }
});

describe('descriptions in the captures', () => {
  it('every capture with descriptions has all nine (three nodes x three descriptions) or seven', () => {
    expect(caps['startup.pcap'].descriptions.length).toBe(9);
    expect(caps['tun.pcap'].descriptions.length).toBe(9);
    expect(caps['rsalink.pcap'].descriptions.length).toBe(7);
  });

  it('every node id is the content hash of the captured public key, and a flipped byte changes it', () => {
    let n = 0;
    for (const c of all) {
      for (const d of c.descriptions) {
        const pk = pubkeyOf(d);
        expect(hex(nodeIdOf(pk))).toBe(hex(d.nodeId));
        expect(keys.has(hex(d.nodeId))).toBe(true);
        expect(hex(nodeIdOf(flip(pk, 77)))).not.toBe(hex(d.nodeId));
        n++;
      }
    }
    expect(n).toBe(25);
  });

  it('every description signature verifies; a flipped byte in the signed part or the signature fails', () => {
    let n = 0;
    for (const c of all) {
      for (const d of c.descriptions) {
        const pk = pubkeyOf(d);
        expect(verifyDescription(pk, d.signature, d.signed)).toBe(true);
        for (const at of [0, 2, 17, d.signed.length - 1]) {
          expect(verifyDescription(pk, d.signature, flip(d.signed, at))).toBe(false);
        }
        for (const at of [0, 1, 100, d.signature.length - 1]) {
          expect(verifyDescription(pk, flip(d.signature, at), d.signed)).toBe(false);
        }
        expect(verifyDescription(flip(pk, 200), d.signature, d.signed)).toBe(false);
        n++;
      }
    }
    expect(n).toBe(25);
  });

  it('the fixture keys re-sign every captured description to the identical signature', () => {
    for (const c of all) {
      for (const d of c.descriptions) {
        const k = keys.get(hex(d.nodeId))!;
        expect(hex(signDescription(k, d.signed))).toBe(hex(d.signature));
      }
    }
  });

  it('every referenced content hash matches its CONTENT_ADV body, and every expanded hash its data', () => {
    let chunks = 0;
    let expanded = 0;
    for (const c of all) {
      for (const d of c.descriptions) {
        for (const ref of d.refs) {
          for (let i = 0; i + 28 <= ref.refs.length && ref.nesting > 0; i += 28) {
            const h = ref.refs.subarray(i, i + 28);
            const item = contents.get(hex(h));
            if (!item) continue;
            expect(hex(contentHash(item.header, item.body))).toBe(hex(h));
            expect(hex(contentHash(item.header, flip(item.body, 3)))).not.toBe(hex(h));
            expect(hex(contentHash(item.header ^ 2, item.body))).not.toBe(hex(h));
            chunks++;
          }
          const data = resolveRef(ref, contents);
          if (!data) continue;
          expect(data.length).toBe(ref.expandedLen);
          expect(hex(contentHash(0, data))).toBe(hex(ref.expandedHash));
          expect(hex(contentHash(0, flip(data, 5)))).not.toBe(hex(ref.expandedHash));
          expanded++;
        }
      }
    }
    expect(chunks).toBeGreaterThan(0);
    expect(expanded).toBeGreaterThan(50);
  });
});

describe('addresses in the captured descriptions', () => {
  it('the first HNA6 entry is the primary address; tunnel endpoints are fd71… (tun.pcap)', () => {
    let primaries = 0;
    let endpoints = 0;
    for (const c of all) {
      for (const d of c.descriptions) {
        const ref = refOf(d, HNA6);
        const data = ref ? resolveRef(ref, contents) : d.inline.get(HNA6);
        if (!data) continue;
        const entries = [];
        for (let o = 0; o + 18 <= data.length; o += 18) {
          entries.push({ len: data[o]!, flags: data[o + 1]!, addr: data.subarray(o + 2, o + 18) });
        }
        expect(entries[0]).toMatchObject({ len: 128, flags: 0 });
        expect(ip6ToString(entries[0]!.addr)).toBe(ip6ToString(primaryAddress(d.nodeId)));
        primaries++;
        let tun = 0;
        for (const e of entries.slice(1).filter((x) => x.flags === 1)) {
          expect(ip6ToString(e.addr)).toBe(ip6ToString(tunnelEndpointAddress(d.nodeId, tun++)));
          endpoints++;
        }
      }
    }
    expect(primaries).toBeGreaterThanOrEqual(20);
    expect(endpoints).toBeGreaterThanOrEqual(1);
  });
});

describe('RSA link signatures (rsalink.pcap)', () => {
  it('every RSA-signed packet verifies with the RSA link key of the announced description', () => {
    const rsa = caps['rsalink.pcap'].signed.filter((s) => s.messages[0]! >= 1 && s.messages[0]! <= 8);
    expect(rsa.length).toBe(61);
    for (const s of rsa) {
      expect(s.messages[0]).toBe(4);
      expect(s.messages.length).toBe(1 + 128);
      const d = findDescription(all, s.packet.senderId, s.descSqn);
      expect(d, `description ${hex(s.packet.senderId).slice(0, 8)}/${s.descSqn}`).toBeDefined();
      const linkKey = pubkeyOf(d!, RSA_LINK_PUBKEY);
      const digest = packetDigest(s.packet.src, s.header, s.after);
      expect(verifyPacketRsa(linkKey, s.messages, digest)).toBe(true);
      // Any flipped covered byte: source address, header, following frames; or the signature.
      expect(
        verifyPacketRsa(linkKey, s.messages, packetDigest(flip(s.packet.src, 15), s.header, s.after)),
      ).toBe(false);
      expect(
        verifyPacketRsa(linkKey, s.messages, packetDigest(s.packet.src, flip(s.header, 8), s.after)),
      ).toBe(false);
      expect(
        verifyPacketRsa(linkKey, s.messages, packetDigest(s.packet.src, s.header, flip(s.after, 9))),
      ).toBe(false);
      expect(verifyPacketRsa(linkKey, flip(s.messages, 64), digest)).toBe(false);
      expect(verifyPacketRsa(linkKey, Uint8Array.of(5, ...s.messages.subarray(1)), digest)).toBe(false);
    }
  });
});

describe('OGM hash chains', { timeout: 60_000 }, () => {
  it('every own OGM chain value in every capture verifies; a flipped byte does not', () => {
    let n = 0;
    for (const c of all) {
      for (const o of c.ogms.filter((m) => m.iid === 1)) {
        const d = findDescription(all, o.packet.senderId, o.descSqn);
        if (!d) throw new Error(`no description for ${hex(o.packet.senderId).slice(0, 8)}/${o.descSqn}`);
        const init = verifierInit(d);
        const v = createChainVerifier(init);
        expect(findChainSqn(v, o.chainOgm, { fullRange: true })).toBeGreaterThan(0);
        // A flipped byte costs a full-range search (range steps): check a spread of them.
        if (n % 4 === 0) {
          expect(findChainSqn(createChainVerifier(init), flip(o.chainOgm, n), { fullRange: true })).toBe(0);
        }
        n++;
      }
    }
    expect(n).toBeGreaterThanOrEqual(55);
  });

  it('own OGMs verify in capture order with the default deviation (10), their sqns rising', () => {
    const verifiers = new Map<string, ReturnType<typeof createChainVerifier>>();
    let n = 0;
    let jumps = 0;
    for (const name of ['startup.pcap', 'tun.pcap', 'rsalink.pcap'] as const) {
      for (const o of caps[name].ogms.filter((m) => m.iid === 1)) {
        const d = findDescription(all, o.packet.senderId, o.descSqn)!;
        const key = `${hex(d.nodeId)}/${d.descSqn}`;
        let v = verifiers.get(key);
        if (!v) {
          v = createChainVerifier(verifierInit(d));
          verifiers.set(key, v);
        }
        const before = v.maxRcvd;
        let sqn = findChainSqn(v, o.chainOgm);
        if (sqn === 0) {
          // Only a jump beyond ogmSqnDeviation escapes the OGM_ADV search (a capture that starts in the
          // middle of a description); the reference then learns the sqn by the full-range search of
          // IID_ADV, after which the OGM_ADV searches work again.
          sqn = findChainSqn(v, o.chainOgm, { fullRange: true });
          expect(sqn).toBeGreaterThan(before + 10);
          jumps++;
        }
        expect(sqn).toBeGreaterThan(0);
        expect(sqn).toBeGreaterThanOrEqual(before);
        n++;
      }
    }
    expect(n).toBeGreaterThan(50);
    expect(jumps).toBeLessThanOrEqual(1);
  });

  it('every IID_ADV chain value verifies by the full-range search', () => {
    let n = 0;
    for (const c of all) {
      for (const a of c.iidAdvs) {
        const d = findDescription(all, a.nodeId, a.descSqn);
        if (!d) continue;
        const v = createChainVerifier(verifierInit(d));
        expect(findChainSqn(v, a.chainOgm, { fullRange: true })).toBeGreaterThan(0);
        n++;
      }
    }
    expect(n).toBeGreaterThan(0);
  });
});

function verifierInit(d: Description) {
  // dHash = SHA-224 of the complete description (4.5).
  return {
    descriptionHash: sha224(d.raw),
    anchor: d.anchor,
    nodeId: d.nodeId,
    descSqn: d.descSqn,
    range: d.ogmRange,
  };
}

describe('the whole-capture verifier', { timeout: 60_000 }, () => {
  it('finds every item of the fixtures verifiable and valid', () => {
    const known = new Map([...keys].map(([id, k]) => [id, k.publicContent]));
    const r = verifyCaptures(all, known);
    expect(r.failures).toEqual([]);
    expect(r.unverifiable).toEqual([]);
    expect(r).toMatchObject({
      descriptions: 25,
      rsaPackets: 61,
      nodeKeyTypes: [6],
      linkKeyTypes: [4],
      dhmKeyTypes: [17],
    });
    expect(r.ownOgms).toBeGreaterThanOrEqual(55);
    expect(r.iidAdvs).toBeGreaterThan(0);
  });

  it('reports a corrupted capture', () => {
    const c = readCapture(fixture('rsalink.pcap'));
    const s = c.signed.find((x) => x.messages[0] === 4)!;
    s.after[s.after.length - 1]! ^= 1;
    c.descriptions[0]!.signed[5]! ^= 1;
    const o = c.ogms.find((x) => x.iid === 1)!;
    o.chainOgm[0]! ^= 1;
    const known = new Map([...keys].map(([id, k]) => [id, k.publicContent]));
    const r = verifyCaptures([c, caps['startup.pcap']], known);
    expect(r.failures.some((f) => f.includes('RSA link signature'))).toBe(true);
    expect(r.failures.some((f) => f.includes(': signature'))).toBe(true);
    expect(r.failures.some((f) => f.includes('chain value'))).toBe(true);
  });
});

// test/vectors: reference captures with the other key sizes (vectors/README.md).
const VECTORS = [
  ['node3072-node4096-rsalink.pcap', ['node3072.der', 'node4096.der']],
  ['node1024-node1536-dhm3072.pcap', ['node1024.der', 'node1536.der']],
  ['node2048-node1024-rsalink.pcap', ['node2048.der', 'node1024b.der']],
] as const;
const vector = (name: string) => fileURLToPath(new URL(`./vectors/${name}`, import.meta.url));

describe('reference captures with node keys 4-8, RSA link keys 4-6, DHM 17 and 18 (test/vectors)', {
  timeout: 60_000,
}, () => {
  it('verify completely: node ids, signatures, link signatures, DHM values, chain values', () => {
    const vcaps = VECTORS.map(([p]) => readCapture(vector(p)));
    const r = verifyCaptures(vcaps);
    expect(r.failures).toEqual([]);
    expect(r.unverifiable).toEqual([]);
    expect([...r.nodeKeyTypes].sort()).toEqual([4, 5, 6, 7, 8]);
    expect([...r.linkKeyTypes].sort()).toEqual([4, 5, 6]);
    expect([...r.dhmKeyTypes].sort()).toEqual([17, 18]);
    expect(r.descriptions).toBe(18);
    expect(r.rsaPackets).toBeGreaterThanOrEqual(100);
    expect(r.ownOgms).toBeGreaterThanOrEqual(20);
  });

  it.each(VECTORS)(
    '%s: the reference-made keys round-trip and re-sign its descriptions identically',
    (pcap, ders) => {
      const c = readCapture(vector(pcap));
      for (const der of ders) {
        const bytes = readFileSync(vector(der));
        const k = rsaKeyFromDer(bytes);
        expect(hex(rsaKeyToDer(k))).toBe(bytes.toString('hex'));
        const mine = c.descriptions.filter((d) => hex(d.nodeId) === hex(k.id));
        expect(mine.length).toBeGreaterThan(0);
        for (const d of mine) {
          expect(d.signature[0]).toBe(k.type);
          expect(hex(signDescription(k, d.signed))).toBe(hex(d.signature));
          const bad = d.signed.slice();
          bad[bad.length - 1]! ^= 1;
          expect(verifyDescription(k.publicContent, d.signature, bad)).toBe(false);
        }
      }
    },
  );
});

describe("DHM MACs of the reference (test/vectors/dhm*-macs.pcap with one node's private exponent)", () => {
  const secrets = JSON.parse(readFileSync(vector('dhm-private.json'), 'utf8')) as Record<
    string,
    { type: number; privateExponent: string }
  >;
  it.each(Object.entries(secrets))(
    "%s: our key, secret and MAC equal the reference's",
    (pcap, { type, privateExponent }) => {
      const c = readCapture(vector(pcap));
      const cc = new Map(c.contents);
      const dhmOf = (d: Description) => {
        const ref = d.refs.find((r) => r.expandedType === 6)!;
        return resolveRef(ref, cc)!;
      };
      const mine = dhmKeyFromPrivate(type, Uint8Array.from(Buffer.from(privateExponent, 'hex')));
      const descs = c.descriptions.filter((d) => d.refs.some((r) => r.expandedType === 6));
      // The exponent belongs to the node whose published DHM_LINK_PUBKEY our key reproduces.
      const own = descs.find((d) => hex(dhmOf(d)) === hex(Uint8Array.of(type, ...mine.publicValue)));
      expect(own).toBeDefined();
      const peer = descs.find((d) => hex(d.nodeId) !== hex(own!.nodeId))!;
      const secret = dhmSecret(mine, dhmOf(peer).subarray(1));
      if (!secret.ok) throw new Error(secret.reason);
      let n = 0;
      for (const s of c.signed.filter((x) => x.messages[0] === type)) {
        expect(s.messages.length).toBe(15);
        const digest = packetDigest(s.packet.src, s.header, s.after);
        const mac = s.messages.subarray(1);
        expect(hex(dhmMac(digest, secret.value))).toBe(hex(mac));
        expect(verifyDhmMac(digest, secret.value, mac)).toBe(true);
        expect(verifyDhmMac(packetDigest(s.packet.src, s.header, flip(s.after, n)), secret.value, mac)).toBe(
          false,
        );
        expect(verifyDhmMac(digest, secret.value, flip(mac, n))).toBe(false);
        n++;
      }
      expect(n).toBeGreaterThanOrEqual(50);
    },
  );
});

// Further reference captures (other key sizes: node RSA types 4-8, link RSA 4-6, DHM 18) can be
// checked the same way: BMX7_EXTRA_CAPTURES=a.pcap,b.pcap pnpm exec vitest run packages/crypto
const extra = (process.env['BMX7_EXTRA_CAPTURES'] ?? '').split(',').filter(Boolean);
describe.skipIf(extra.length === 0)('reference captures named in BMX7_EXTRA_CAPTURES', () => {
  it('verify without failures', () => {
    const r = verifyCaptures(extra.map((p) => readCapture(p)));
    console.log(JSON.stringify({ ...r, unverifiable: r.unverifiable.length }));
    expect(r.failures).toEqual([]);
    expect(r.descriptions + r.rsaPackets + r.ownOgms).toBeGreaterThan(0);
  });
});
