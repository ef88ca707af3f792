/**
 * @bmx7/codec benchmark: decode and encode throughput (packets/s) on the packet mix of the four
 * reference captures, plus description decoding and content assembly. One JSON object per result,
 * the median of several timed rounds; ratios are measured side by side in the same run.
 * `pnpm bench codec [--quick]`.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  assembleContent,
  BMX7_PORT,
  buildContent,
  type ContentItem,
  type DecodedPacket,
  decodeDescription,
  decodePacket,
  encodePacket,
  hashKey,
  readCapture,
  udp6Datagrams,
} from '@bmx7/codec';
import { deflate, inflate } from '@bmx7/codec/zlib';
import { fixture } from '@bmx7/testenv/env';

const quick = process.argv.includes('--quick');
const ROUNDS = quick ? 3 : 9;
const ROUND_MS = quick ? 100 : 300;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Median items per second of `pass` (which handles `perPass` items) over ROUNDS rounds. */
function rate(perPass: number, pass: () => void): { perSec: number; rounds: number[] } {
  pass();
  const rounds: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    let n = 0;
    const t0 = performance.now();
    let t = t0;
    do {
      pass();
      n += perPass;
      t = performance.now();
    } while (t - t0 < ROUND_MS);
    rounds.push((n * 1000) / (t - t0));
  }
  return { perSec: median(rounds), rounds };
}

const payloads = ['startup.pcap', 'line3.pcap', 'tun.pcap', 'rsalink.pcap'].flatMap((f) => {
  const cap = readCapture(new Uint8Array(readFileSync(fixture(f))));
  if (!cap.ok) throw new Error(`${f}: ${cap.reason}`);
  return udp6Datagrams(cap.value, BMX7_PORT).map((d) => d.payload);
});
const bytes = payloads.reduce((a, p) => a + p.length, 0);
const decoded: DecodedPacket[] = payloads.map((p) => {
  const r = decodePacket(p);
  if (!r.ok) throw new Error(r.reason);
  return r.value;
});

const emit = (o: Record<string, unknown>) => console.log(JSON.stringify({ bench: 'codec', ...o }));
const mix = { packets: payloads.length, avgBytes: Math.round(bytes / payloads.length) };

let sink = 0;
const dec = rate(payloads.length, () => {
  for (const p of payloads) {
    const r = decodePacket(p);
    if (r.ok) sink += r.value.frames.length;
  }
});
emit({
  name: 'decodePacket',
  packetsPerSec: Math.round(dec.perSec),
  MBPerSec: +((dec.perSec * bytes) / payloads.length / 1e6).toFixed(1),
  mix,
  rounds: ROUNDS,
});

const enc = rate(decoded.length, () => {
  for (const d of decoded) sink += encodePacket(d.header, d.frames).length;
});
emit({
  name: 'encodePacket',
  packetsPerSec: Math.round(enc.perSec),
  MBPerSec: +((enc.perSec * bytes) / payloads.length / 1e6).toFixed(1),
  mix,
  rounds: ROUNDS,
});

const rt = rate(payloads.length, () => {
  for (const p of payloads) {
    const r = decodePacket(p);
    if (r.ok) sink += encodePacket(r.value.header, r.value.frames).length;
  }
});
emit({ name: 'decode+encode', packetsPerSec: Math.round(rt.perSec), mix, rounds: ROUNDS });
emit({ name: 'ratio encode/decode', ratio: +(enc.perSec / dec.perSec).toFixed(2) });

// Descriptions alone (the largest frames) and content assembly with node:crypto SHA-224 and node:zlib.
const descs = decoded.flatMap((d) => d.frames.flatMap((f) => (f.type === 2 ? [f] : [])));
const descBytes = descs.map((f) =>
  payloads[decoded.findIndex((d) => d.frames.includes(f))]!.subarray(f.offset + 2, f.offset + f.length),
);
const dd = rate(descBytes.length, () => {
  for (const b of descBytes) if (decodeDescription(b).ok) sink++;
});
emit({
  name: 'decodeDescription',
  descriptionsPerSec: Math.round(dd.perSec),
  descriptions: descBytes.length,
  rounds: ROUNDS,
});

const sha224 = (d: Uint8Array) => new Uint8Array(createHash('sha224').update(d).digest());
const info = new TextEncoder().encode('x'.repeat(3000));
const built = buildContent(info, { type: 28, level: 2, compress: true, hash: sha224, deflate });
const store = new Map<string, ContentItem>(built.items.map((i) => [hashKey(i.hash), i]));
const asm = rate(1, () => {
  if (assembleContent(built.ref!, (h) => store.get(hashKey(h)), { hash: sha224, inflate }).ok) sink++;
});
emit({ name: 'assembleContent 3000B zlib nesting 2', perSec: Math.round(asm.perSec), rounds: ROUNDS });
const bld = rate(1, () => {
  sink += buildContent(info, { type: 28, level: 2, compress: true, hash: sha224, deflate }).items.length;
});
emit({ name: 'buildContent 3000B zlib nesting 2', perSec: Math.round(bld.perSec), rounds: ROUNDS });
if (sink < 0) console.log(sink);
