/**
 * What crosses the node's BMX7 port, counted (STYLE.md rule 13): frames and their bytes per frame
 * type in and out (docs/protocol.md §4.3: a frame's 5-bit type and 11-bit length, the 2-byte frame
 * header included in its bytes), packets and their bytes, and dropped packets by reason. The
 * reasons are a fixed set, so a metrics exporter can label them without unbounded cardinality.
 */
import { FRAME_HEADER_SIZE, PACKET_HEADER_SIZE, readFrameHeader } from '@bmx7/codec';

/** Frame types are 5 bits (§4.3). */
export const FRAME_TYPES = 32;

/**
 * Why a received packet was dropped:
 * - `unknown_interface`: it came in on an interface the engine does not run on;
 * - `bad_source`: its source is no IPv6 link-local address (§4.1);
 * - `own_address`: it came from one of the node's own addresses;
 * - `malformed`: the packet header, size or compatibility version is wrong (§4.1, §4.2);
 * - `own_node_id`: another node sends with this node's id;
 * - `auth_failed`: packet authentication failed (§4.4 "failure");
 * - `bad_frame`: the frames after a malformed one (those before it were processed, §4.2);
 * - `internal_error`: handling it threw (a bug, logged).
 */
export const DROP_REASONS = [
  'unknown_interface',
  'bad_source',
  'own_address',
  'malformed',
  'own_node_id',
  'auth_failed',
  'bad_frame',
  'internal_error',
] as const;
export type DropReason = (typeof DROP_REASONS)[number];

/** Frames and bytes per frame type (indexes 0–31). */
export interface FrameCounts {
  readonly frames: number[];
  readonly bytes: number[];
}

/** The traffic counters of an engine (a copy: `Engine.traffic()`). */
export interface EngineTraffic {
  readonly rxPackets: number;
  readonly rxBytes: number;
  readonly txPackets: number;
  readonly txBytes: number;
  /** Frames received in packets that passed the packet checks, per type. */
  readonly rx: FrameCounts;
  /** Frames sent, per type (SIGNATURE and OGM_AGG_SQN of every signed packet included). */
  readonly tx: FrameCounts;
  readonly drops: Readonly<Record<DropReason, number>>;
}

/** The engine's running counters (state.ts holds one). */
export interface TrafficCounters {
  rxBytes: number;
  readonly rx: FrameCounts;
  readonly tx: FrameCounts;
  readonly drops: Record<DropReason, number>;
}

const zeros = () => new Array<number>(FRAME_TYPES).fill(0);

export function newTrafficCounters(): TrafficCounters {
  return {
    rxBytes: 0,
    rx: { frames: zeros(), bytes: zeros() },
    tx: { frames: zeros(), bytes: zeros() },
    drops: Object.fromEntries(DROP_REASONS.map((r) => [r, 0])) as Record<DropReason, number>,
  };
}

export function countFrame(c: FrameCounts, type: number, length: number): void {
  const t = type & (FRAME_TYPES - 1);
  c.frames[t]! += 1;
  c.bytes[t]! += length;
}

/**
 * Counts the frames of an encoded packet by their headers (the engine's own packets: well-formed),
 * stopping at a header that does not fit.
 */
export function countPacketFrames(c: FrameCounts, packet: Uint8Array): void {
  let pos = PACKET_HEADER_SIZE;
  while (pos + FRAME_HEADER_SIZE <= packet.length) {
    const { type, length } = readFrameHeader(packet, pos);
    if (length < FRAME_HEADER_SIZE || pos + length > packet.length) return;
    countFrame(c, type, length);
    pos += length;
  }
}

/** A copy of the counters, with the packet totals the engine keeps elsewhere. */
export function trafficOf(
  t: TrafficCounters,
  totals: { rxPackets: number; txPackets: number; txBytes: number },
): EngineTraffic {
  return {
    rxPackets: totals.rxPackets,
    rxBytes: t.rxBytes,
    txPackets: totals.txPackets,
    txBytes: totals.txBytes,
    rx: { frames: [...t.rx.frames], bytes: [...t.rx.bytes] },
    tx: { frames: [...t.tx.frames], bytes: [...t.tx.bytes] },
    drops: { ...t.drops },
  };
}
