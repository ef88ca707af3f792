/**
 * Transmission (docs/protocol.md §4.1 "Packet assembly", §4.3 table): tx tasks with tries and intervals,
 * merged into frames by (type, group) and packed into packets per interface; unsigned types (< 8)
 * in packets of their own, everything else behind SIGNATURE + OGM_AGG_SQN.
 */
import {
  type ContentReqFrame,
  type DescReqFrame,
  encodeFrame,
  encodePacketLayout,
  FRAME_TYPE,
  type Frame,
  fillSignatureMessages,
  type HelloReply,
  type IidAdv,
  type IidReqFrame,
  type OgmReqFrame,
  packetHeader,
  type SignatureFrame,
  type SignatureMessage,
  signedRegion,
} from '@bmx7/codec';

/** Frames area of a packet (1232 − 30). */
export const FRAMES_MAX = 1202;
/**
 * Link sensing (HELLO, HELLO_REPLY): at most one task per interface and per link, so never refused
 * by the per-interface cap; a node whose queue is full of floods and requests keeps its links.
 */
const UNCAPPED_TYPES = new Set([12, 13]);
/** Message bytes per merged frame: leaves room for SIGNATURE (17 MACs), OGM_AGG_SQN and headers. */
const FRAME_DATA_BUDGET = 800;
const MSG_BYTES: Record<number, number> = { 13: 30, 19: 48, 27: 2, 28: 2, 29: 28, 30: 28 };

export type TaskMessage =
  | { kind: 'frame'; frame: Frame }
  | { kind: 'reply'; msg: HelloReply }
  | { kind: 'iidAdv'; msg: IidAdv }
  | { kind: 'ogmReq'; sqn: number }
  | { kind: 'iidReq'; iid: number }
  | { kind: 'descReq'; id: Uint8Array }
  | { kind: 'contentReq'; hash: Uint8Array };

export interface TxTask {
  type: number;
  ifname: string;
  /** Destination node id of a request / the neighbour of a HELLO_REPLY (empty when none). */
  group: Uint8Array | undefined;
  /** Identity within (type, ifname, group). */
  key: string;
  tries: number;
  interval: number;
  due: number;
  /** Re-checks the task right before sending; undefined = no longer needed (§4.3). */
  produce(): TaskMessage | undefined;
}

export class TxQueue {
  readonly tasks = new Map<string, TxTask>();
  readonly limitPerIf: number;
  readonly #countPerIf = new Map<string, number>();
  /** Tasks refused because their interface had `limitPerIf` queued (maxTxTaskTreeSize). */
  refused = 0;

  constructor(limitPerIf = 200) {
    this.limitPerIf = limitPerIf;
  }

  /** Schedules a task; an identical pending task only gets its tries refreshed (§4.3). */
  add(t: TxTask): void {
    const id = `${t.ifname}|${t.type}|${t.group ? Buffer.from(t.group).toString('hex') : ''}|${t.key}`;
    const cur = this.tasks.get(id);
    if (cur) {
      cur.tries = Math.max(cur.tries, t.tries);
      cur.produce = t.produce;
      if (t.due < cur.due) cur.due = t.due;
      return;
    }
    const n = this.#countPerIf.get(t.ifname) ?? 0;
    if (n >= this.limitPerIf && !UNCAPPED_TYPES.has(t.type)) {
      this.refused++;
      return;
    }
    this.#countPerIf.set(t.ifname, n + 1);
    this.tasks.set(id, t);
  }

  nextDue(): number {
    let d = Infinity;
    for (const t of this.tasks.values()) if (t.due < d) d = t.due;
    return d;
  }

  /** Takes the messages of all due tasks, per interface; re-arms tasks with tries left. */
  takeDue(now: number): Map<string, Array<{ task: TxTask; msg: TaskMessage }>> {
    const out = new Map<string, Array<{ task: TxTask; msg: TaskMessage }>>();
    for (const [id, t] of this.tasks) {
      if (t.due > now) continue;
      const msg = t.produce();
      t.tries--;
      if (!msg || t.tries <= 0) {
        this.tasks.delete(id);
        this.#countPerIf.set(t.ifname, (this.#countPerIf.get(t.ifname) ?? 1) - 1);
      } else t.due = now + t.interval;
      if (!msg) continue;
      let l = out.get(t.ifname);
      if (!l) {
        l = [];
        out.set(t.ifname, l);
      }
      l.push({ task: t, msg });
    }
    return out;
  }

  /** Tasks queued for an interface (the reference's `txTasks`). */
  queued(ifname: string): number {
    return this.#countPerIf.get(ifname) ?? 0;
  }

  dropInterface(ifname: string): void {
    for (const [id, t] of this.tasks) if (t.ifname === ifname) this.tasks.delete(id);
    this.#countPerIf.delete(ifname);
  }

  clear(): void {
    this.tasks.clear();
    this.#countPerIf.clear();
  }
}

const groupHex = (g: Uint8Array | undefined) => (g ? Buffer.from(g).toString('hex') : '');

/** Merges task messages into frames: equal (type, group) → one frame with several messages. */
export function mergeFrames(items: Array<{ task: TxTask; msg: TaskMessage }>): Frame[] {
  const frames: Frame[] = [];
  const merged = new Map<string, { type: number; group: Uint8Array | undefined; msgs: TaskMessage[] }>();
  for (const { task, msg } of items) {
    if (msg.kind === 'frame') {
      frames.push(msg.frame);
      continue;
    }
    const k = `${task.type}|${groupHex(task.group)}`;
    let m = merged.get(k);
    if (!m) {
      m = { type: task.type, group: task.group, msgs: [] };
      merged.set(k, m);
    }
    m.msgs.push(msg);
  }
  for (const m of merged.values()) {
    const per = Math.max(1, Math.floor(FRAME_DATA_BUDGET / (MSG_BYTES[m.type] ?? 48)));
    for (let i = 0; i < m.msgs.length; i += per) {
      const part = m.msgs.slice(i, i + per);
      const dest = m.group ?? new Uint8Array(28);
      switch (m.type) {
        case FRAME_TYPE.HELLO_REPLY_DHASH:
          frames.push({
            type: FRAME_TYPE.HELLO_REPLY_DHASH,
            replies: part.map((x) => (x as { msg: HelloReply }).msg),
          });
          break;
        case FRAME_TYPE.IID_ADV:
          frames.push({ type: FRAME_TYPE.IID_ADV, advs: part.map((x) => (x as { msg: IidAdv }).msg) });
          break;
        case FRAME_TYPE.OGM_REQ:
          frames.push({
            type: FRAME_TYPE.OGM_REQ,
            dest,
            aggSqns: part.map((x) => (x as { sqn: number }).sqn),
          } as OgmReqFrame);
          break;
        case FRAME_TYPE.IID_REQ:
          frames.push({
            type: FRAME_TYPE.IID_REQ,
            dest,
            iids: part.map((x) => (x as { iid: number }).iid),
          } as IidReqFrame);
          break;
        case FRAME_TYPE.DESC_REQ:
          frames.push({
            type: FRAME_TYPE.DESC_REQ,
            dest,
            nodeIds: part.map((x) => (x as { id: Uint8Array }).id),
          } as DescReqFrame);
          break;
        case FRAME_TYPE.CONTENT_REQ:
          frames.push({
            type: FRAME_TYPE.CONTENT_REQ,
            dest,
            hashes: part.map((x) => (x as { hash: Uint8Array }).hash),
          } as ContentReqFrame);
          break;
      }
    }
  }
  // ascending type order, stable (§4.2)
  return frames
    .map((f, i) => ({ f, i }))
    .sort((a, b) => a.f.type - b.f.type || a.i - b.i)
    .map((x) => x.f);
}

export interface SignParams {
  descSqn: number;
  burstSqn: number;
  devIdx: number;
  aggMax: number;
  aggSize: number;
  /** Message shapes to reserve (key type, length). */
  reserve: Array<{ keyType: number; length: number }>;
  /** Fills the messages from the packet digest inputs (signed header and tail). */
  sign(header: Uint8Array, tail: Uint8Array): SignatureMessage[];
}

/** Packs frames into packets (§4.1): unsigned ones alone, the others behind SIGNATURE + OGM_AGG_SQN. */
export function packPackets(nodeId: Uint8Array, frames: Frame[], sp: SignParams): Uint8Array[] {
  const packets: Uint8Array[] = [];
  const header = packetHeader(nodeId);
  const unsigned = frames.filter((f) => f.type < 8);
  const signed = frames.filter((f) => f.type > 9);
  // unsigned packets
  let cur: Frame[] = [];
  let size = 0;
  const flushUnsigned = () => {
    if (cur.length) packets.push(encodePacketLayout(header, cur).bytes);
    cur = [];
    size = 0;
  };
  for (const f of unsigned) {
    const n = encodeFrame(f).length;
    if (size + n > FRAMES_MAX) flushUnsigned();
    cur.push(f);
    size += n;
  }
  flushUnsigned();
  if (!signed.length) return packets;
  const sigFrame: SignatureFrame = {
    type: FRAME_TYPE.SIGNATURE_ADV,
    descSqn: sp.descSqn,
    burstSqn: sp.burstSqn,
    devIdx: sp.devIdx,
    messages: sp.reserve.map((r) => ({ keyType: r.keyType, signature: new Uint8Array(r.length) })),
  };
  const aggFrame: Frame = { type: FRAME_TYPE.OGM_AGG_SQN_ADV, max: sp.aggMax, size: sp.aggSize };
  const base = encodeFrame(sigFrame).length + encodeFrame(aggFrame).length;
  const flushSigned = () => {
    if (!cur.length) return;
    const layout = encodePacketLayout(header, [sigFrame, aggFrame, ...cur]);
    const region = signedRegion(layout.bytes, layout)!;
    if (sp.reserve.length)
      fillSignatureMessages(layout.bytes, layout.signature!, sp.sign(region.header, region.tail));
    packets.push(layout.bytes);
    cur = [];
    size = 0;
  };
  size = 0;
  for (const f of signed) {
    const n = encodeFrame(f).length;
    if (base + size + n > FRAMES_MAX) flushSigned();
    cur.push(f);
    size += n;
  }
  flushSigned();
  return packets;
}
