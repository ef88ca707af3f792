/**
 * Verifies everything verifiable in a set of captures with @bmx7/crypto, as a dump tool would:
 * node ids, description signatures, RSA link signatures, DHM public values, own-OGM and IID_ADV
 * chain values. Used on the fixtures and on any further reference captures (BMX7_EXTRA_CAPTURES).
 */
import { checkDhmPublicValue, isDhmKeyType } from '../src/dhm.js';
import { sha224 } from '../src/hash.js';
import { nodeIdOf } from '../src/identity.js';
import { createChainVerifier, findChainSqn } from '../src/ogm-chain.js';
import { isRsaKeyType } from '../src/rsa.js';
import { packetDigest, verifyDescription, verifyPacketRsa } from '../src/signatures.js';
import { type Capture, type Description, findDescription, hex, resolveRef } from './capture.js';

export interface CaptureReport {
  descriptions: number;
  nodeKeyTypes: number[];
  linkKeyTypes: number[];
  dhmKeyTypes: number[];
  rsaPackets: number;
  ownOgms: number;
  iidAdvs: number;
  /** what could not be checked because the capture lacks the key or description */
  unverifiable: string[];
  failures: string[];
}

const NODE_PUBKEY = 1;
const RSA_LINK_PUBKEY = 5;
const DHM_LINK_PUBKEY = 6;

export function verifyCaptures(
  caps: Capture[],
  knownPubkeys: Map<string, Uint8Array> = new Map(),
): CaptureReport {
  const contents = new Map<string, { header: number; body: Uint8Array }>();
  for (const c of caps) for (const [k, v] of c.contents) contents.set(k, v);
  const r: CaptureReport = {
    descriptions: 0,
    nodeKeyTypes: [],
    linkKeyTypes: [],
    dhmKeyTypes: [],
    rsaPackets: 0,
    ownOgms: 0,
    iidAdvs: 0,
    unverifiable: [],
    failures: [],
  };
  const tlv = (d: Description, type: number) => {
    const ref = d.refs.find((x) => x.expandedType === type);
    return ref ? resolveRef(ref, contents) : d.inline.get(type);
  };
  const name = (d: Description) => `${hex(d.nodeId).slice(0, 8)}/${d.descSqn}`;
  const addType = (list: number[], t: number | undefined) => {
    if (t !== undefined && !list.includes(t)) list.push(t);
  };

  for (const c of caps) {
    for (const d of c.descriptions) {
      r.descriptions++;
      const pk = tlv(d, NODE_PUBKEY) ?? knownPubkeys.get(hex(d.nodeId));
      if (!pk) {
        r.unverifiable.push(`description ${name(d)}: node key not captured`);
        continue;
      }
      addType(r.nodeKeyTypes, pk[0]);
      if (hex(nodeIdOf(pk)) !== hex(d.nodeId)) r.failures.push(`description ${name(d)}: node id`);
      if (!verifyDescription(pk, d.signature, d.signed)) r.failures.push(`description ${name(d)}: signature`);
      const lk = tlv(d, RSA_LINK_PUBKEY);
      if (lk) addType(r.linkKeyTypes, lk[0]);
      const dk = tlv(d, DHM_LINK_PUBKEY);
      if (dk) {
        const t = dk[0]!;
        addType(r.dhmKeyTypes, t);
        if (!isDhmKeyType(t) || !checkDhmPublicValue(t, dk.subarray(1)).ok) {
          r.failures.push(`description ${name(d)}: DHM public value`);
        }
      }
    }
    for (const s of c.signed) {
      const t = s.messages[0];
      if (t === undefined || !isRsaKeyType(t)) continue;
      r.rsaPackets++;
      const d = findDescription(caps, s.packet.senderId, s.descSqn);
      const lk = d && tlv(d, RSA_LINK_PUBKEY);
      if (!lk) {
        r.unverifiable.push(`packet ${s.packet.index}: RSA link key not captured`);
        continue;
      }
      if (!verifyPacketRsa(lk, s.messages, packetDigest(s.packet.src, s.header, s.after))) {
        r.failures.push(`packet ${s.packet.index}: RSA link signature`);
      }
    }
    const chainCheck = (nodeId: Uint8Array, descSqn: number, chainOgm: Uint8Array, what: string) => {
      const d = findDescription(caps, nodeId, descSqn);
      if (!d) {
        r.unverifiable.push(`${what}: description ${hex(nodeId).slice(0, 8)}/${descSqn} not captured`);
        return;
      }
      const v = createChainVerifier({
        descriptionHash: sha224(d.raw),
        anchor: d.anchor,
        nodeId: d.nodeId,
        descSqn: d.descSqn,
        range: d.ogmRange,
      });
      if (findChainSqn(v, chainOgm, { fullRange: true }) === 0) r.failures.push(`${what}: chain value`);
    };
    for (const o of c.ogms) {
      if (o.iid !== 1) continue;
      r.ownOgms++;
      chainCheck(o.packet.senderId, o.descSqn, o.chainOgm, `own OGM in packet ${o.packet.index}`);
    }
    for (const a of c.iidAdvs) {
      r.iidAdvs++;
      chainCheck(a.nodeId, a.descSqn, a.chainOgm, `IID_ADV in packet ${a.packet.index}`);
    }
  }
  return r;
}
