/**
 * `bmx7ctl dump --verify` on the reference captures (fixtures/bmx7-ref and bmx7-ref-extra): every
 * check that can run verifies, with the numbers the independent decoder of the reference document
 * finds; single flipped bytes produce exactly the expected failure and exit 1.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeDescription, FRAME_TYPE, readCapture, TLV_TYPE, toHex } from '@bmx7/codec';
import { ogmChainConstant, sha224, shortId } from '@bmx7/crypto';
import { fixture, repoRoot } from '@bmx7/testenv/env';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliIo, EXIT, runCli } from './cli.js';
import { COMMANDS } from './commands.js';
import { type DumpedPacket, dumpPackets } from './dump.js';
import {
  CHECK_KINDS,
  type CheckKind,
  createCaptureVerifier,
  type VerifyEvent,
  type VerifySummary,
  verifyPackets,
} from './verify.js';

const extra = (name: string) => join(repoRoot, 'fixtures', 'bmx7-ref-extra', name);

interface Expected {
  /** distinct descriptions (node id and description signature verified for each) */
  descriptions: number;
  rsaPackets: number;
  dhmPackets: number;
  ownOgms: number;
  iidAdvs: number;
  /** own OGMs whose description is not in the capture */
  ogmsWithoutDescription?: number;
}

// Cross-checked with bmx7_decode_check.py (its pkt_rsa_sig_ok + _unverifiable: it checks a packet
// only with a description that came before it; and own-OGM ok + fail: it uses the newest
// description only).
const CAPTURES: Record<string, Expected> = {
  [fixture('startup.pcap')]: { descriptions: 3, rsaPackets: 0, dhmPackets: 137, ownOgms: 16, iidAdvs: 6 },
  [fixture('line3.pcap')]: {
    descriptions: 0,
    rsaPackets: 0,
    dhmPackets: 73,
    ownOgms: 0,
    iidAdvs: 0,
    ogmsWithoutDescription: 10,
  },
  [fixture('tun.pcap')]: { descriptions: 3, rsaPackets: 0, dhmPackets: 225, ownOgms: 30, iidAdvs: 7 },
  [fixture('rsalink.pcap')]: { descriptions: 3, rsaPackets: 61, dhmPackets: 7, ownOgms: 9, iidAdvs: 7 },
  [extra('mixed-link1.pcap')]: { descriptions: 4, rsaPackets: 75, dhmPackets: 74, ownOgms: 21, iidAdvs: 8 },
  [extra('mixed-link2.pcap')]: { descriptions: 4, rsaPackets: 181, dhmPackets: 0, ownOgms: 20, iidAdvs: 8 },
  [extra('mixed-link3.pcap')]: { descriptions: 4, rsaPackets: 182, dhmPackets: 0, ownOgms: 22, iidAdvs: 8 },
  [extra('wifi-link1.pcap')]: { descriptions: 5, rsaPackets: 73, dhmPackets: 72, ownOgms: 20, iidAdvs: 11 },
  [extra('wifi-link2.pcap')]: { descriptions: 5, rsaPackets: 164, dhmPackets: 0, ownOgms: 20, iidAdvs: 8 },
  [extra('wifi-link3.pcap')]: { descriptions: 5, rsaPackets: 173, dhmPackets: 0, ownOgms: 20, iidAdvs: 8 },
};
const FILES = Object.keys(CAPTURES);
const base = (f: string) => f.slice(f.lastIndexOf('/') + 1);

function load(path: string) {
  const bytes = new Uint8Array(readFileSync(path));
  const cap = readCapture(bytes);
  if (!cap.ok) throw new Error(cap.reason);
  const packets = [...dumpPackets(cap.value)];
  // The packets are views into `bytes`, so a byte of a packet can be flipped in the file.
  for (const p of packets) expect(p.payload.buffer).toBe(bytes.buffer);
  return { bytes, packets };
}

function flipped(bytes: Uint8Array, p: DumpedPacket, offsetInPayload: number): Uint8Array {
  const c = bytes.slice();
  c[p.payload.byteOffset + offsetInPayload]! ^= 0x01;
  return c;
}

function memIo(files: Record<string, Uint8Array> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = {
    out: (l) => out.push(l),
    err: (l) => err.push(l),
    readFile: async (p) => files[p] ?? new Uint8Array(readFileSync(p)),
  };
  return { io, out, err };
}

const counts = (s: VerifySummary, k: CheckKind) => s.checks[k];

describe.each(FILES)('verify %s', { timeout: 60_000 }, (file) => {
  const want = CAPTURES[file]!;
  it('every check that can run verifies, with the expected numbers', () => {
    const { events, summary } = verifyPackets(load(file).packets);
    expect(events.filter((e) => e.outcome === 'failed')).toEqual([]);
    expect(summary.failures).toBe(0);
    expect(summary.descriptions).toBe(want.descriptions);
    for (const k of ['node-id', 'description-signature'] as const)
      expect(counts(summary, k)).toEqual({ verified: want.descriptions, failed: 0, unverifiable: 0 });
    expect(counts(summary, 'packet-signature')).toEqual({
      verified: want.rsaPackets,
      failed: 0,
      unverifiable: want.dhmPackets,
    });
    expect(summary.dhmPackets).toBe(want.dhmPackets);
    // Only DHM MACs stay unverifiable: every RSA-signed packet's key is in the capture.
    const unverifiable = events.filter((e) => e.outcome === 'unverifiable');
    expect(unverifiable.filter((e) => e.kind === 'packet-signature').every((e) => e.why === 'dhm')).toBe(
      true,
    );
    expect(counts(summary, 'ogm-chain')).toEqual({
      verified: want.ownOgms,
      failed: 0,
      unverifiable: want.ogmsWithoutDescription ?? 0,
    });
    expect(counts(summary, 'iid-chain')).toEqual({ verified: want.iidAdvs, failed: 0, unverifiable: 0 });
  });

  it('bmx7ctl dump --verify exits 0 and prints the summary', async () => {
    const { io, out, err } = memIo();
    expect(await runCli(['dump', file, '--verify'], io, COMMANDS)).toBe(EXIT.OK);
    expect(err).toEqual([]);
    expect(out).toContain(
      `verify: packet-signature      verified=${want.rsaPackets} failed=0 unverifiable=${want.dhmPackets}`,
    );
    expect(out.filter((l) => l.startsWith('verify: FAILED'))).toEqual([]);
  });
});

describe('bmx7ctl dump --verify arguments', () => {
  it('help lists --verify; bad arguments are usage errors; dump without it is unchanged', async () => {
    const h = memIo();
    expect(await runCli(['help', 'dump'], h.io, COMMANDS)).toBe(EXIT.OK);
    expect(h.out.join('\n')).toMatch(
      /usage: bmx7ctl dump FILE .*\[--verify\]\n(.|\n)* {2}--verify +also check/,
    );
    expect(await runCli(['dump', '--verify'], memIo().io, COMMANDS)).toBe(EXIT.USAGE);
    expect(await runCli(['dump', '--verify', '--bogus', 'x'], memIo().io, COMMANDS)).toBe(EXIT.USAGE);
    const plain = memIo();
    expect(await runCli(['dump', fixture('line3.pcap')], plain.io, COMMANDS)).toBe(EXIT.OK);
    expect(plain.out.some((l) => l.includes('verify'))).toBe(false);
  });
});

describe('verify across key sizes (bmx7-ref-extra)', { timeout: 60_000 }, () => {
  it('checks RSA1024, 1536, 3072 and 4096 node keys and RSA1024, 1536 and 2048 link signatures', () => {
    const node = new Set<string>();
    const link = new Set<string>();
    for (const f of FILES.filter((x) => x.includes('bmx7-ref-extra'))) {
      for (const e of verifyPackets(load(f).packets).events) {
        const m = /RSA(\d+)/.exec(e.detail);
        if (e.outcome !== 'verified' || !m) continue;
        if (e.kind === 'node-id') node.add(m[1]!);
        if (e.kind === 'packet-signature') link.add(m[1]!);
      }
    }
    expect([...node].sort()).toEqual(['1024', '1536', '3072', '4096']);
    expect([...link].sort()).toEqual(['1024', '1536', '2048']);
  });

  it('checks the OGM sent across a description change against the header descSqn (wifi-link1)', () => {
    const { events } = verifyPackets(load(extra('wifi-link1.pcap')).packets);
    const ogms = events.filter((e) => e.kind === 'ogm-chain');
    // n2 (A28A6592) issues descSqn 13 during the capture: its OGMs verify against 12, then 13.
    const n2 = ogms.filter((e) => e.node === 'A28A6592').map((e) => /descSqn (\d+)/.exec(e.detail)![1]);
    expect(n2[0]).toBe('12');
    expect(n2.slice(1).every((s) => s === '13')).toBe(true);
    expect(ogms.every((e) => e.outcome === 'verified')).toBe(true);
  });
});

describe('verify waits for what comes later and counts what never comes', () => {
  it('an RSA-signed packet sent before its description verifies when the description arrives', () => {
    const v = createCaptureVerifier();
    const late: VerifyEvent[] = [];
    // mixed-link2: n2's first packets are RSA-signed before its node key and link key arrive.
    for (const p of load(extra('mixed-link2.pcap')).packets)
      for (const e of v.packet(p)) if (e.packet < p.number) late.push(e);
    expect(v.finish()).toEqual([]);
    expect(late.some((e) => e.kind === 'packet-signature' && e.outcome === 'verified')).toBe(true);
    expect(late.some((e) => e.kind === 'description-signature' && e.outcome === 'verified')).toBe(true);
    expect(v.summary().checks['packet-signature'].verified).toBe(181);
  });

  it('without the DESC_ADV packets everything is unverifiable, nothing failed', () => {
    const packets = load(fixture('rsalink.pcap')).packets.filter(
      (p) => p.decoded.ok && !p.decoded.value.frames.some((f) => f.type === FRAME_TYPE.DESC_ADV),
    );
    const { summary, events } = verifyPackets(packets);
    expect(summary.failures).toBe(0);
    expect(summary.descriptions).toBe(0);
    for (const k of CHECK_KINDS) expect(counts(summary, k).verified).toBe(0);
    expect(counts(summary, 'packet-signature').unverifiable).toBe(61 + 7);
    expect(counts(summary, 'ogm-chain').unverifiable).toBe(9);
    expect(events.find((e) => e.kind === 'ogm-chain')?.detail).toMatch(/not in the capture/);
  });

  it('without the node-key CONTENT_ADVs the descriptions are unverifiable, their link keys still used', () => {
    const { packets } = load(fixture('rsalink.pcap'));
    const ids = new Set<string>();
    for (const p of packets)
      if (p.decoded.ok)
        for (const f of p.decoded.value.frames)
          if (f.type === FRAME_TYPE.DESC_ADV) ids.add(shortId(f.description.nodeId));
    const keyless = packets.filter(
      (p) =>
        !(
          p.decoded.ok &&
          p.decoded.value.frames.some((f) => f.type === FRAME_TYPE.CONTENT_ADV && f.body[0] === 6)
        ),
    );
    const { summary } = verifyPackets(keyless);
    expect(ids.size).toBe(3);
    expect(summary.failures).toBe(0);
    expect(counts(summary, 'description-signature')).toEqual({ verified: 0, failed: 0, unverifiable: 3 });
    expect(counts(summary, 'packet-signature').verified).toBe(61);
  });
});

describe('verify failures: one flipped byte, exactly the expected failure', { timeout: 60_000 }, () => {
  async function runFlipped(path: string, bytes: Uint8Array) {
    const m = memIo({ [path]: bytes });
    const code = await runCli(['dump', path, '--verify'], m.io, COMMANDS);
    const cap = readCapture(bytes);
    if (!cap.ok) throw new Error(cap.reason);
    const { events } = verifyPackets(dumpPackets(cap.value));
    return { code, failed: events.filter((e) => e.outcome === 'failed'), ...m };
  }

  it('a description signature byte', async () => {
    const file = fixture('rsalink.pcap');
    const { bytes, packets } = load(file);
    const p = packets.find(
      (x) => x.decoded.ok && x.decoded.value.frames.some((f) => f.type === FRAME_TYPE.DESC_ADV),
    )!;
    if (!p.decoded.ok) throw new Error('decode');
    const f = p.decoded.value.frames.find((x) => x.type === FRAME_TYPE.DESC_ADV)!;
    if (f.type !== FRAME_TYPE.DESC_ADV) throw new Error('frame');
    const sig = f.description.tlvs[1]!;
    expect(sig.type).toBe(TLV_TYPE.DSC_SIGNATURE);
    const r = await runFlipped(file, flipped(bytes, p, f.offset + 2 + sig.offset + 2 + 100));
    const node = shortId(f.description.nodeId);
    expect(r.failed.map((e) => [e.kind, e.packet, e.node])).toEqual([
      ['description-signature', p.number, node],
    ]);
    expect(r.code).toBe(EXIT.FAILURE);
    expect(r.err.join('\n')).toMatch(new RegExp(`#${p.number} \\+[0-9.]+ description-signature ${node}`));
    expect(r.out).toContain('verify: description-signature verified=3 failed=1 unverifiable=0');
  });

  it('an RSA packet signature byte', async () => {
    const file = fixture('rsalink.pcap');
    const { bytes, packets } = load(file);
    const p = packets.find(
      (x) =>
        x.decoded.ok &&
        x.decoded.value.frames.some(
          (f) => f.type === FRAME_TYPE.SIGNATURE_ADV && f.messages[0]?.keyType === 4,
        ),
    )!;
    if (!p.decoded.ok) throw new Error('decode');
    const s = p.decoded.value.signature!;
    const r = await runFlipped(file, flipped(bytes, p, s.messagesOffset + 1 + 50));
    const node = shortId(p.decoded.value.header.nodeId);
    expect(r.failed.map((e) => [e.kind, e.packet, e.node])).toEqual([['packet-signature', p.number, node]]);
    expect(r.code).toBe(EXIT.FAILURE);
    expect(r.err.join('\n')).toMatch(new RegExp(`first: packet #${p.number} .*packet-signature ${node}`));
  });

  it('a CONTENT_ADV body of a node key', async () => {
    const file = extra('mixed-link2.pcap');
    const { bytes, packets } = load(file);
    const ids = new Map<string, string>();
    for (const p of packets)
      if (p.decoded.ok)
        for (const f of p.decoded.value.frames)
          if (f.type === FRAME_TYPE.DESC_ADV)
            ids.set(Buffer.from(f.description.nodeId).toString('hex'), shortId(f.description.nodeId));
    let hit: { p: DumpedPacket; at: number; node: string } | undefined;
    for (const p of packets) {
      if (!p.decoded.ok || hit) continue;
      for (const f of p.decoded.value.frames) {
        if (f.type !== FRAME_TYPE.CONTENT_ADV) continue;
        const h = Buffer.from(sha224(Uint8Array.of(0), f.body)).toString('hex');
        if (ids.has(h)) hit = { p, at: f.offset + 3 + 40, node: ids.get(h)! };
      }
    }
    expect(hit).toBeDefined();
    const r = await runFlipped(file, flipped(bytes, hit!.p, hit!.at));
    expect(r.failed.map((e) => [e.kind, e.packet, e.node])).toEqual([['node-id', hit!.p.number, hit!.node]]);
    expect(r.code).toBe(EXIT.FAILURE);
    expect(r.err.join('\n')).toMatch(new RegExp(`first: #${hit!.p.number} \\+[0-9.]+ node-id ${hit!.node}`));
    // The node's description lost its key: its node id and signature cannot be checked.
    expect(r.out).toContain('verify: description-signature verified=3 failed=0 unverifiable=1');
  });

  /** The capture with one byte of its first own OGM's chain value flipped. */
  function ownOgmFlipped(file: string, rsaSigned = false) {
    const { bytes, packets } = load(file);
    for (const p of packets) {
      if (!p.decoded.ok) continue;
      const sig = p.decoded.value.frames.find((f) => f.type === FRAME_TYPE.SIGNATURE_ADV);
      if (rsaSigned && !(sig?.type === FRAME_TYPE.SIGNATURE_ADV && sig.messages[0]?.keyType === 4)) continue;
      for (const f of p.decoded.value.frames) {
        if (f.type !== FRAME_TYPE.OGM_ADV) continue;
        let o = f.offset + 2 + 2; // frame header, aggSqn
        for (const ogm of f.ogms) {
          if (ogm.iid === 1)
            return { p, node: shortId(p.decoded.value.header.nodeId), bytes: flipped(bytes, p, o + 5) };
          o += 18 + 3 * ogm.history.length;
        }
      }
    }
    throw new Error('no own OGM');
  }

  async function flipOwnOgm(file: string, rsaSigned = false) {
    const { p, node, bytes } = ownOgmFlipped(file, rsaSigned);
    return { p, node, r: await runFlipped(file, bytes) };
  }

  it('an own OGM chain value (DHM-signed packet: only the chain fails)', async () => {
    const { p, node, r } = await flipOwnOgm(fixture('startup.pcap'));
    expect(r.failed.map((e) => [e.kind, e.packet, e.node])).toEqual([['ogm-chain', p.number, node]]);
    expect(r.code).toBe(EXIT.FAILURE);
    // Reported when the description it needs has arrived, naming the OGM's own packet.
    expect(r.err.join('\n')).toMatch(
      new RegExp(`first: packet #\\d+ .*#${p.number} \\+[0-9.]+ ogm-chain ${node}`),
    );
  });

  it('an own OGM chain value in an RSA-signed packet: the chain and the packet signature fail', async () => {
    const { p, node, r } = await flipOwnOgm(fixture('rsalink.pcap'), true);
    expect(r.failed.map((e) => [e.kind, e.packet, e.node]).sort()).toEqual([
      ['ogm-chain', p.number, node],
      ['packet-signature', p.number, node],
    ]);
    expect(r.code).toBe(EXIT.FAILURE);
  });

  it('an own OGM replaced by the sqn-0 value (the published anchor) is unverifiable, not verified', async () => {
    const file = fixture('startup.pcap');
    const { bytes, packets } = load(file);
    const raw = new Map<string, Uint8Array>();
    for (const p of packets)
      if (p.decoded.ok)
        for (const f of p.decoded.value.frames)
          if (f.type === FRAME_TYPE.DESC_ADV)
            raw.set(
              `${shortId(f.description.nodeId)}/${f.description.version.descSqn}`,
              p.payload.subarray(f.offset + 2, f.offset + f.length),
            );
    const { p } = ownOgmFlipped(file);
    if (!p.decoded.ok) throw new Error('decode');
    const sig = p.decoded.value.frames.find((f) => f.type === FRAME_TYPE.SIGNATURE_ADV)!;
    if (sig.type !== FRAME_TYPE.SIGNATURE_ADV) throw new Error('frame');
    const d = raw.get(`${shortId(p.decoded.value.header.nodeId)}/${sig.descSqn}`)!;
    const desc = decodeDescription(d);
    if (!desc.ok) throw new Error(desc.reason);
    const v = desc.value.version;
    const c = ogmChainConstant(
      sha224(d),
      Uint8Array.from([...v.anchorLink, ...v.anchorSeed]),
      desc.value.nodeId,
      v.descSqn,
    );
    const copy = bytes.slice();
    const ogm = p.decoded.value.frames.find((f) => f.type === FRAME_TYPE.OGM_ADV)!;
    let o = p.payload.byteOffset + ogm.offset + 4;
    if (ogm.type !== FRAME_TYPE.OGM_ADV) throw new Error('frame');
    for (const m of ogm.ogms) {
      if (m.iid === 1) break;
      o += 18 + 3 * m.history.length;
    }
    for (let i = 0; i < 14; i++) copy[o + i] = v.anchorLink[i]! ^ c[i]!;
    const cap = readCapture(copy);
    if (!cap.ok) throw new Error(cap.reason);
    const { summary, events } = verifyPackets(dumpPackets(cap.value));
    expect(summary.checks['ogm-chain']).toEqual({ verified: 15, failed: 0, unverifiable: 1 });
    expect(events.find((e) => e.kind === 'ogm-chain' && e.outcome === 'unverifiable')?.detail).toMatch(
      /sqn 0/,
    );
  });

  it('--json ends with one summary object listing the failures', async () => {
    const file = fixture('startup.pcap');
    const m = memIo({ [file]: ownOgmFlipped(file).bytes });
    await runCli(['dump', file, '--verify', '--json'], m.io, COMMANDS);
    const last = JSON.parse(m.out.at(-1)!);
    const kinds = (last.failures as { kind: string }[]).map((x) => x.kind);
    expect(kinds).toEqual(['ogm-chain']);
    expect(last.verify.failures).toBe(1);
    expect(last.verify.checks['ogm-chain']).toEqual({ verified: 15, failed: 1, unverifiable: 0 });
    expect(m.out.slice(0, -1).every((l) => 'number' in JSON.parse(l))).toBe(true);
  });
});

describe('verify sweep: flipped bytes in every capture give exactly the expected failure', {
  timeout: 120_000,
}, () => {
  // Every distinct description's signature, every node-key CONTENT_ADV, every own OGM of a packet
  // not RSA-signed, and every 15th RSA packet signature.
  it.each(FILES.filter((f) => CAPTURES[f]!.descriptions > 0))('%s', (file) => {
    const { bytes, packets } = load(file);
    const ids = new Map<string, string>();
    const seen = new Set<string>();
    const targets: { at: number; kind: CheckKind; node: string; packet: number }[] = [];
    let i = 0;
    for (const p of packets) {
      if (!p.decoded.ok) continue;
      const d = p.decoded.value;
      const at = (o: number) => p.payload.byteOffset + o;
      const sig = d.frames.find((x) => x.type === FRAME_TYPE.SIGNATURE_ADV);
      const rsa = sig?.type === FRAME_TYPE.SIGNATURE_ADV && (sig.messages[0]?.keyType ?? 99) <= 8;
      if (rsa && i++ % 15 === 0)
        targets.push({
          at: at(d.signature!.messagesOffset + 1 + (i % 100)),
          kind: 'packet-signature',
          node: shortId(d.header.nodeId),
          packet: p.number,
        });
      for (const f of d.frames) {
        if (f.type === FRAME_TYPE.DESC_ADV) {
          ids.set(toHex(f.description.nodeId), shortId(f.description.nodeId));
          const k = toHex(sha224(p.payload.subarray(f.offset + 2, f.offset + f.length)));
          if (seen.has(k)) continue;
          seen.add(k);
          const s = f.description.tlvs[1]!;
          targets.push({
            at: at(f.offset + 2 + s.offset + 2 + 7),
            kind: 'description-signature',
            node: shortId(f.description.nodeId),
            packet: p.number,
          });
        } else if (f.type === FRAME_TYPE.OGM_ADV && !rsa) {
          let o = f.offset + 4;
          for (const m of f.ogms) {
            if (m.iid === 1)
              targets.push({
                at: at(o + (i % 14)),
                kind: 'ogm-chain',
                node: shortId(d.header.nodeId),
                packet: p.number,
              });
            o += 18 + 3 * m.history.length;
          }
        }
      }
    }
    // Node keys: CONTENT_ADVs whose content hash is a node id of the capture.
    for (const p of packets) {
      if (!p.decoded.ok) continue;
      for (const f of p.decoded.value.frames) {
        const node =
          f.type === FRAME_TYPE.CONTENT_ADV ? ids.get(toHex(sha224(Uint8Array.of(0), f.body))) : undefined;
        if (node)
          targets.push({
            at: p.payload.byteOffset + f.offset + 3 + 77,
            kind: 'node-id',
            node,
            packet: p.number,
          });
      }
    }
    expect(new Set(targets.map((t) => t.kind)).size).toBeGreaterThanOrEqual(
      CAPTURES[file]!.rsaPackets ? 4 : 3,
    );
    for (const t of targets) {
      const c = bytes.slice();
      c[t.at]! ^= 0x10;
      const cap = readCapture(c);
      if (!cap.ok) throw new Error(cap.reason);
      const failed = verifyPackets(dumpPackets(cap.value)).events.filter((e) => e.outcome === 'failed');
      expect(
        failed.map((e) => [e.kind, e.packet, e.node]),
        JSON.stringify(t),
      ).toEqual([[t.kind, t.packet, t.node]]);
    }
  });
});

describe('verify never throws on wire input', { timeout: 120_000 }, () => {
  it('60 captures with random flipped bytes: only failures and unverifiables, no exception', () => {
    const files = [fixture('rsalink.pcap'), extra('mixed-link1.pcap'), extra('wifi-link2.pcap')];
    let seed = 7;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    let failedRuns = 0;
    for (let i = 0; i < 60; i++) {
      const { bytes, packets } = load(files[i % files.length]!);
      const p = packets[rnd(packets.length)]!;
      const c = flipped(bytes, p, rnd(p.payload.length));
      // Flip 1-3 more bytes of the same packet: broken frames, keys, lengths.
      for (let k = rnd(3); k > 0; k--) c[p.payload.byteOffset + rnd(p.payload.length)]! ^= 1 << rnd(8);
      const cap = readCapture(c);
      if (!cap.ok) continue;
      const { summary } = verifyPackets(dumpPackets(cap.value));
      if (summary.failures > 0) failedRuns++;
    }
    expect(failedRuns).toBeGreaterThan(0);
  });
});

describe('bmx7ctl dump --verify as a built process', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bmx7ctl-verify-'));
  const main = join(repoRoot, 'apps', 'bmx7ctl', 'dist', 'main.js');
  beforeAll(() => {
    const b = spawnSync('pnpm', ['--filter', 'bmx7ctl', 'build'], {
      cwd: repoRoot,
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect(b.status, b.stdout + b.stderr).toBe(0);
  }, 150_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('verifies every reference capture (exit 0) and names a failure (exit 1)', () => {
    const run = (...args: string[]) =>
      spawnSync(process.execPath, [main, 'dump', ...args], {
        cwd: repoRoot,
        encoding: 'utf8',
        timeout: 60_000,
      });
    for (const f of FILES) {
      const r = run(f, '--verify');
      expect(r.status, `${base(f)}: ${r.stderr}`).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`verify: ogm-chain +verified=${CAPTURES[f]!.ownOgms} failed=0`));
    }
    const { bytes, packets } = load(fixture('rsalink.pcap'));
    const p = packets.find(
      (x) =>
        x.decoded.ok &&
        x.decoded.value.signature &&
        x.decoded.value.frames.some(
          (f) => f.type === FRAME_TYPE.SIGNATURE_ADV && f.messages[0]?.keyType === 4,
        ),
    )!;
    if (!p.decoded.ok) throw new Error('decode');
    const bad = join(dir, 'bad.pcap');
    writeFileSync(bad, flipped(bytes, p, p.decoded.value.signature!.messagesOffset + 7));
    const r = run(bad, '--verify');
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`#${p.number} \\+[0-9.]+ packet-signature`));
    expect(r.stdout).toMatch(/verify: packet-signature +verified=60 failed=1 unverifiable=7/);
    const j = run(bad, '--verify', '--json');
    expect(j.status).toBe(1);
    expect(JSON.parse(j.stdout.trim().split('\n').at(-1)!).verify.failures).toBe(1);
  }, 120_000);
});
