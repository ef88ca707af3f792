import { FRAME_TYPE } from '@bmx7/codec';
/**
 * Send rounds (docs/protocol.md §4.1 "Round timing", §4.4, §4.12): the round timer, casual frames
 * (HELLO, HELLO_REPLY, own OGMs, OGM_REQ), packing and signing.
 */

import type { SignatureMessage } from '@bmx7/codec';
import { dhmMac, packetDigest, signPacketRsa } from '@bmx7/crypto';
import { timeAwareRq } from './links.js';
import { bestTqIf, nbLqOk, secretOf } from './neighbours.js';
import { aggWindow, hasPendingOgms, missingAggregations } from './ogms.js';
import { flushAggregation } from './originators.js';
import { BURST_SQN_RENEW, buildDescription, ownOgm } from './own.js';
import { bucketRound, doNowOrLater } from './pacing.js';
import { type EngineState, type Iface, KEY_STATE } from './state.js';
import { countPacketFrames } from './traffic.js';
import { mergeFrames, packPackets } from './tx.js';

export function descUpdate(s: EngineState): void {
  s.descPending = true;
  if (s.running) armRound(s, nextRoundDelay(s));
}

/** Delay until the next round may run: the round gap (txMinInterval, or more with a full bucket) after the last. */
export function nextRoundDelay(s: EngineState): number {
  return Math.max(0, s.lastRound + s.roundGap - s.c.clock.now());
}

export function armRound(s: EngineState, delay: number): void {
  if (!s.running) return;
  const at = s.c.clock.now() + Math.max(0, delay);
  if (at >= s.roundAt) return;
  s.roundCancel?.();
  s.roundAt = at;
  s.roundCancel = s.c.clock.schedule(Math.max(0, delay), () => {
    s.roundCancel = undefined;
    s.roundAt = Infinity;
    round(s);
  });
}

export function round(s: EngineState): void {
  if (!s.running) return;
  const now = s.c.clock.now();
  s.lastRound = now;
  if (s.descPending && s.ifs.size) buildDescription(s);
  if (now - s.lastCasual >= s.nextCasualGap) casual(s, now);
  const due = s.tx.takeDue(now);
  for (const [ifname, items] of due) {
    const ifc = s.ifs.get(ifname);
    if (!ifc) continue;
    const frames = mergeFrames(items.map(({ task, msg }) => ({ task, msg })));
    let packets: Uint8Array[];
    try {
      packets = packPackets(s.id, frames, signParams(s, ifc));
    } catch (err) {
      // a programmer error in packet assembly must not stop the node (counted and logged)
      s.c.logger.log(0, 'packet assembly failed', { error: String(err) });
      continue;
    }
    for (const pkt of packets) {
      if (!s.cfg.listenOnly) s.c.datagrams.send(ifname, pkt);
      s.cnt.txPackets++;
      s.cnt.txBytes += pkt.length;
      countPacketFrames(s.traffic.tx, pkt);
    }
  }
  const busy = due.size > 0;
  if (busy) {
    // one burst per round with something to send (§4.4); near the end of the u32 range a new
    // description lets it start again at 0
    s.burstSqn++;
    if (s.burstSqn > BURST_SQN_RENEW) descUpdate(s);
  }
  const gap = bucketGap(s, now, busy);
  s.roundGap = gap;
  const nextCasual = s.lastCasual + s.nextCasualGap;
  const nextTask = s.tx.nextDue();
  const next = Math.max(now + gap, Math.min(nextCasual, nextTask));
  armRound(s, next - now);
}

/** The gap before the next round: the transmit bucket's (§4.12), ±5 %. */
export function bucketGap(s: EngineState, now: number, busy: boolean): number {
  return bucketRound(s.bucket, s.cfg, now, busy) * (0.95 + 0.1 * s.c.random.float());
}

/** The casual frames of a round (§4.1 step 2). */
export function casual(s: EngineState, now: number): void {
  s.lastCasual = now;
  // txAvgInterval ± 5 % jitter (§4.12)
  s.nextCasualGap = s.cfg.txAvgInterval * (0.95 + 0.1 * s.c.random.float());
  for (const [ifname, ifc] of s.ifs) {
    s.tx.add({
      type: FRAME_TYPE.HELLO_ADV,
      ifname,
      group: undefined,
      key: 'hello',
      tries: 1,
      interval: 0,
      due: now,
      // the sqn counts HELLOs sent, so it is taken when the frame is made (as the reference's
      // tx_msg_hello_adv): a HELLO not sent leaves no gap that neighbours would count as loss
      produce: () => {
        ifc.helloSqn = (ifc.helloSqn + 1) & 0xffff;
        return { kind: 'frame', frame: { type: FRAME_TYPE.HELLO_ADV, helloSqn: ifc.helloSqn } };
      },
    });
  }
  // HELLO_REPLY per link, one frame per neighbour (§4.10)
  for (const l of s.links.values()) {
    const cur = l.nb.key.current;
    if (!cur) continue;
    const rq = timeAwareRq(l.q, now, s.cfg.linkTimeout);
    s.tx.add({
      type: FRAME_TYPE.HELLO_REPLY_DHASH,
      ifname: l.ifname,
      group: l.nb.key.id,
      key: l.id,
      tries: 1,
      interval: 0,
      due: now,
      produce: () => ({
        kind: 'reply',
        msg: { dhash: cur.parsed.dHash, rxLq: rq, receiverDevIdx: l.devIdx },
      }),
    });
  }
  // own OGM (§4.9): it rides along with others' OGMs once ogmInterval has passed on a timer that
  // keeps its phase, and goes out alone at the latest ogmInterval·factor after the last one
  // (restarted from now), or at once as the first OGM of a new description
  const guarantee = (s.cfg.ogmInterval * s.cfg.ogmIntervalFactor) / 100;
  const alone = !s.descPending && doNowOrLater(s.ogmGuarantee, now, guarantee, s.ownOgmNow);
  if ((alone || hasPendingOgms(s.agg)) && doNowOrLater(s.ogmHitchhike, now, s.cfg.ogmInterval, alone)) {
    doNowOrLater(s.ogmGuarantee, now, guarantee, true);
    ownOgm(s);
  }
  flushAggregation(s);
  // OGM_REQ for missing aggregations of every lq-ok neighbour (§4.9)
  for (const k of s.nbs) {
    const nb = k.nb;
    if (!nb || !nbLqOk(s, nb)) continue;
    const ifname = bestTqIf(s, nb);
    if (!ifname) continue;
    for (const sqn of missingAggregations(nb.agg)) {
      s.tx.add({
        type: FRAME_TYPE.OGM_REQ,
        ifname,
        group: k.id,
        key: String(sqn),
        tries: 1,
        interval: s.cfg.txFrameInterval,
        due: now,
        produce: () => (nb.agg.got[sqn & 255] ? undefined : { kind: 'ogmReq', sqn }),
      });
    }
  }
}

/** The signature method for my packets (§4.4 table). */
export function signParams(s: EngineState, ifc: Iface) {
  const now = s.c.clock.now();
  const peers = [...s.heard]
    .filter(
      (k) => k.state === KEY_STATE.NEIGHBOR || (k.state === KEY_STATE.PROMOTED && k.qualifyingUntil > now),
    )
    .sort((a, b) => (a.hex < b.hex ? -1 : 1));
  let reserve: Array<{ keyType: number; length: number }> = [];
  let sign: (header: Uint8Array, tail: Uint8Array) => SignatureMessage[] = () => [];
  const digestOf = (header: Uint8Array, tail: Uint8Array) => packetDigest(ifc.ll, header, tail);
  if (peers.length) {
    const dhmOk = s.dhm && peers.length <= s.cfg.maxDhmNeighs && peers.every((k) => secretOf(s, k));
    if (dhmOk) {
      const type = s.dhm!.type;
      reserve = peers.map(() => ({ keyType: type, length: 14 }));
      sign = (h, t) => {
        const dg = digestOf(h, t);
        return peers.map((k) => ({ keyType: type, signature: dhmMac(dg, k.dhmSecret!) }));
      };
    } else if (s.linkRsa) {
      const lk = s.linkRsa;
      reserve = [{ keyType: lk.type, length: lk.publicContent.length - 1 }];
      sign = (h, t) => {
        const m = signPacketRsa(lk, digestOf(h, t));
        return [{ keyType: m[0]!, signature: m.subarray(1) }];
      };
    }
  }
  const flushed = s.aggLastFlushed;
  const size = flushed ? Math.max(1, Math.min(256, aggWindow(s.agg) - (s.agg.newestFlushed ? 0 : 1))) : 0;
  return {
    descSqn: s.descSqn,
    burstSqn: s.burstSqn,
    devIdx: ifc.devIdx,
    aggMax: flushed,
    aggSize: size,
    reserve,
    sign,
  };
}
