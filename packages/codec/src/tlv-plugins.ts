/**
 * Description TLVs of the reference's plugins and of bmx7d's extensions (docs/protocol.md §4.8,
 * §4.13, §4.14): the tunnel plugin's TUN6 … TUN6IN6_NET, the topology and sms plugins' TOPOLOGY and
 * SMS, and bmx7d's WIREGUARD, CRYPT_TUN and PQ_KEM. The core's TLVs and the table of every codec are in
 * tlv.ts.
 */
import { fromLatin1, latin1, put16, put32, take, u16, u32 } from './bytes.js';
import {
  CRYPT_TUN_VERSION,
  MSG_SIZE,
  PQ_KEM_ALG,
  PQ_KEM_VERSION,
  SHA_LEN,
  TLV_TYPE,
  WIREGUARD_VERSION,
} from './constants.js';
import { ensure, fail, ok } from './result.js';
import { addrList, byte, fixedBytes, listCodec, type TlvCodec } from './tlv-codec.js';

/** TUN6 (17): tunnel endpoint addresses; the index is the tun6Id. */
export interface Tun6Tlv {
  readonly type: typeof TLV_TYPE.TUN6;
  readonly endpoints: readonly Uint8Array[];
}

export interface TunIngressEntry {
  readonly tun6Id: number;
  readonly prefixLen: number;
  /** 4 bytes (TUN4IN6) or 16 bytes (TUN6IN6). */
  readonly prefix: Uint8Array;
}

/** TUN4IN6_INGRESS (18, 6-byte entries) and TUN6IN6_INGRESS (19, 18-byte entries). */
export interface TunIngressTlv {
  readonly type: typeof TLV_TYPE.TUN4IN6_INGRESS | typeof TLV_TYPE.TUN6IN6_INGRESS;
  readonly entries: readonly TunIngressEntry[];
}

export interface TunSrcEntry {
  readonly tun6Id: number;
  readonly srcType: number;
  readonly srcPrefixMin: number;
  readonly prefixLen: number;
  readonly prefix: Uint8Array;
}

/** TUN4IN6_SRC (20, 8-byte entries) and TUN6IN6_SRC (21, 20-byte entries). */
export interface TunSrcTlv {
  readonly type: typeof TLV_TYPE.TUN4IN6_SRC | typeof TLV_TYPE.TUN6IN6_SRC;
  readonly entries: readonly TunSrcEntry[];
}

export interface TunNetEntry {
  readonly tun6Id: number;
  /** Route protocol type ("rtype"). */
  readonly protoType: number;
  /** Bandwidth as FM8. */
  readonly bandwidth: number;
  readonly networkLen: number;
  readonly network: Uint8Array;
}

/** TUN4IN6_NET (22, 8-byte entries) and TUN6IN6_NET (23, 20-byte entries). */
export interface TunNetTlv {
  readonly type: typeof TLV_TYPE.TUN4IN6_NET | typeof TLV_TYPE.TUN6IN6_NET;
  readonly entries: readonly TunNetEntry[];
}

export interface TopologyLink {
  readonly nbId: Uint8Array;
  readonly nbDescSqn: number;
  readonly nbIdx: number;
  readonly idx: number;
  /** FM8. */
  readonly txBw: number;
  /** FM8. */
  readonly rxBw: number;
  readonly tq: number;
  readonly rq: number;
  /** Signed byte. */
  readonly signal: number;
  /** Signed byte. */
  readonly noise: number;
  readonly channel: number;
  readonly reserved1: number;
  readonly reserved2: number;
}

/** TOPOLOGY (27, topology plugin): 2-byte header + 44-byte messages. */
export interface TopologyTlv {
  readonly type: typeof TLV_TYPE.TOPOLOGY;
  readonly topoType: number;
  readonly reserved: number;
  readonly links: readonly TopologyLink[];
}

export interface SmsMessage {
  /** Up to 16 bytes, zero padded on the wire (Latin-1, trailing zero bytes stripped). */
  readonly name: string;
  readonly data: Uint8Array;
}

/** SMS (29, sms plugin): name 16 + data length u32 + data, repeated. */
export interface SmsTlv {
  readonly type: typeof TLV_TYPE.SMS;
  readonly messages: readonly SmsMessage[];
}

/**
 * WIREGUARD (24, bmx7d extension, §4.13): the node's WireGuard interface. A later version appends
 * fields after the 36 bytes of version 1; a receiver reads the fields it knows and keeps the rest.
 */
export interface WireguardTlv {
  readonly type: typeof TLV_TYPE.WIREGUARD;
  /** 1 or higher (0 is refused). */
  readonly version: number;
  /** Capability bits (WIREGUARD_FLAG); unknown bits are ignored on receive. */
  readonly flags: number;
  readonly listenPort: number;
  /** X25519 public key, 32 bytes. */
  readonly publicKey: Uint8Array;
  /** Bytes after the version-1 fields (fields of a later version), kept for relaying. */
  readonly extra: Uint8Array;
}

/** One tunnel network of a CRYPT_TUN TLV and the tunnel kinds the node accepts for it. */
export interface CryptTunEntry {
  /** 0 = plain tunnels only, 1 = plain and encrypted, 2 = encrypted only. */
  readonly crypt: 0 | 1 | 2;
  /** Entry bits (CRYPT_TUN_FLAG): SOURCE marks a tunnel source network; other bits are ignored. */
  readonly flags: number;
  readonly family: 4 | 6;
  /** At most 32 (family 4) or 128 (family 6). */
  readonly prefixLen: number;
  /** 4 bytes for family 4 (zero padded to 16 on the wire), 16 for family 6. */
  readonly address: Uint8Array;
}

/**
 * CRYPT_TUN (25, bmx7d extension, §4.13): per tunnel network the node announces (its tunIn and
 * tunDev networks), which tunnel kinds it accepts. A 2-byte header, then 20-byte entries; the body
 * is exactly 2 + 20·n bytes. A later layout takes a new version number: the decoder accepts any
 * version ≥ 1 but reads only the version-1 layout, and refuses a body of any other length.
 */
export interface CryptTunTlv {
  readonly type: typeof TLV_TYPE.CRYPT_TUN;
  /** 1 or higher (0 is refused). */
  readonly version: number;
  /** Reserved (0); unknown bits are ignored on receive. */
  readonly flags: number;
  readonly entries: readonly CryptTunEntry[];
}

/**
 * PQ_KEM (26, bmx7d extension, §4.13): the node's post-quantum KEM public key, to which peers
 * encapsulate to derive WireGuard pre-shared keys (docs/pq-psk.md). A 4-byte header (version, alg,
 * reserved u16), then the key: exactly 1184 bytes for alg 1 (ML-KEM-768). A later layout takes a
 * new version number: the decoder accepts any version ≥ 1 but reads only the version-1 layout.
 */
export interface PqKemTlv {
  readonly type: typeof TLV_TYPE.PQ_KEM;
  /** 1 or higher (0 is refused). */
  readonly version: number;
  /** KEM algorithm (PQ_KEM_ALG): 1 = ML-KEM-768; any other value is refused. */
  readonly alg: number;
  /** The KEM public key: an ML-KEM-768 encapsulation key, 1184 bytes, for alg 1. */
  readonly publicKey: Uint8Array;
  /**
   * The reserved u16: sent as 0 (absent = 0) and ignored on receive, but a non-zero value is kept
   * so the TLV re-encodes to the bytes received; the decoder sets it only when non-zero.
   */
  readonly reserved?: number;
}

const ingressCodec = (name: string, alen: number) =>
  listCodec<TunIngressTlv, TunIngressEntry>(
    name,
    2 + alen,
    (type, entries) => ({ type: type as TunIngressTlv['type'], entries }),
    (v) => v.entries,
    (b, o) => ({ tun6Id: b[o]!, prefixLen: b[o + 1]!, prefix: take(b, o + 2, alen) }),
    (e, out, o) => {
      out[o] = byte(e.tun6Id, 'tun6Id');
      out[o + 1] = byte(e.prefixLen, 'prefixLen');
      out.set(fixedBytes(e.prefix, alen, `${name} prefix`), o + 2);
    },
  );

const srcCodec = (name: string, alen: number) =>
  listCodec<TunSrcTlv, TunSrcEntry>(
    name,
    4 + alen,
    (type, entries) => ({ type: type as TunSrcTlv['type'], entries }),
    (v) => v.entries,
    (b, o) => ({
      tun6Id: b[o]!,
      srcType: b[o + 1]!,
      srcPrefixMin: b[o + 2]!,
      prefixLen: b[o + 3]!,
      prefix: take(b, o + 4, alen),
    }),
    (e, out, o) => {
      out[o] = byte(e.tun6Id, 'tun6Id');
      out[o + 1] = byte(e.srcType, 'srcType');
      out[o + 2] = byte(e.srcPrefixMin, 'srcPrefixMin');
      out[o + 3] = byte(e.prefixLen, 'prefixLen');
      out.set(fixedBytes(e.prefix, alen, `${name} prefix`), o + 4);
    },
  );

const netCodec = (name: string, alen: number) =>
  listCodec<TunNetTlv, TunNetEntry>(
    name,
    4 + alen,
    (type, entries) => ({ type: type as TunNetTlv['type'], entries }),
    (v) => v.entries,
    (b, o) => ({
      tun6Id: b[o]!,
      protoType: b[o + 1]!,
      bandwidth: b[o + 2]!,
      networkLen: b[o + 3]!,
      network: take(b, o + 4, alen),
    }),
    (e, out, o) => {
      out[o] = byte(e.tun6Id, 'tun6Id');
      out[o + 1] = byte(e.protoType, 'protoType');
      out[o + 2] = byte(e.bandwidth, 'bandwidth');
      out[o + 3] = byte(e.networkLen, 'networkLen');
      out.set(fixedBytes(e.network, alen, `${name} network`), o + 4);
    },
  );

const s8 = (x: number) => (x > 127 ? x - 256 : x);

const topologyCodec: TlvCodec<TopologyTlv> = {
  name: 'TOPOLOGY',
  bounds: { header: MSG_SIZE.TOPOLOGY_HEADER, minMsg: MSG_SIZE.TOPOLOGY, fixed: false },
  decode(_t, b) {
    if (b.length < 2) return fail('ERR_LENGTH', 'TOPOLOGY: shorter than its 2-byte header');
    if ((b.length - 2) % MSG_SIZE.TOPOLOGY)
      return fail('ERR_LENGTH', `TOPOLOGY: ${b.length - 2} message bytes is not a multiple of 44`);
    const links: TopologyLink[] = [];
    for (let o = 2; o < b.length; o += MSG_SIZE.TOPOLOGY)
      links.push({
        nbId: take(b, o, SHA_LEN),
        nbDescSqn: u32(b, o + 28),
        nbIdx: b[o + 32]!,
        idx: b[o + 33]!,
        txBw: b[o + 34]!,
        rxBw: b[o + 35]!,
        tq: b[o + 36]!,
        rq: b[o + 37]!,
        signal: s8(b[o + 38]!),
        noise: s8(b[o + 39]!),
        channel: b[o + 40]!,
        reserved1: b[o + 41]!,
        reserved2: u16(b, o + 42),
      });
    return ok({ type: TLV_TYPE.TOPOLOGY, topoType: b[0]!, reserved: b[1]!, links });
  },
  encode(v) {
    const b = new Uint8Array(2 + v.links.length * MSG_SIZE.TOPOLOGY);
    b[0] = byte(v.topoType, 'TOPOLOGY type');
    b[1] = byte(v.reserved, 'TOPOLOGY reserved');
    v.links.forEach((l, i) => {
      const o = 2 + i * MSG_SIZE.TOPOLOGY;
      b.set(fixedBytes(l.nbId, SHA_LEN, 'TOPOLOGY nbId'), o);
      put32(b, o + 28, l.nbDescSqn);
      b[o + 32] = byte(l.nbIdx, 'nbIdx');
      b[o + 33] = byte(l.idx, 'idx');
      b[o + 34] = byte(l.txBw, 'txBw');
      b[o + 35] = byte(l.rxBw, 'rxBw');
      b[o + 36] = byte(l.tq, 'tq');
      b[o + 37] = byte(l.rq, 'rq');
      ensure(
        l.signal >= -128 && l.signal <= 127 && l.noise >= -128 && l.noise <= 127,
        'signal/noise out of int8',
      );
      b[o + 38] = l.signal & 0xff;
      b[o + 39] = l.noise & 0xff;
      b[o + 40] = byte(l.channel, 'channel');
      b[o + 41] = byte(l.reserved1, 'reserved1');
      put16(b, o + 42, l.reserved2);
    });
    return b;
  },
};

const smsCodec: TlvCodec<SmsTlv> = {
  name: 'SMS',
  bounds: { header: 0, minMsg: MSG_SIZE.SMS_HEADER, fixed: false },
  decode(_t, b) {
    const messages: SmsMessage[] = [];
    let pos = 0;
    // sms.c process_description_sms: at least one message, each fully inside the TLV.
    do {
      if (pos + MSG_SIZE.SMS_HEADER > b.length) return fail('ERR_LENGTH', 'SMS: truncated message header');
      const len = u32(b, pos + 16);
      if (len > b.length - pos - MSG_SIZE.SMS_HEADER)
        return fail('ERR_LENGTH', `SMS: data length ${len} exceeds the TLV`);
      let end = 16;
      while (end > 0 && b[pos + end - 1] === 0) end--;
      messages.push({
        name: latin1(b.subarray(pos, pos + end)),
        data: take(b, pos + MSG_SIZE.SMS_HEADER, len),
      });
      pos += MSG_SIZE.SMS_HEADER + len;
    } while (pos < b.length);
    return ok({ type: TLV_TYPE.SMS, messages });
  },
  encode(v) {
    ensure(v.messages.length > 0, 'SMS needs at least one message');
    const parts = v.messages.map((m) => {
      const name = fromLatin1(m.name);
      ensure(name.length <= 16, 'SMS name longer than 16 bytes');
      const out = new Uint8Array(MSG_SIZE.SMS_HEADER + m.data.length);
      out.set(name, 0);
      put32(out, 16, m.data.length);
      out.set(m.data, MSG_SIZE.SMS_HEADER);
      return out;
    });
    let n = 0;
    for (const p of parts) n += p.length;
    const b = new Uint8Array(n);
    let o = 0;
    for (const p of parts) {
      b.set(p, o);
      o += p.length;
    }
    return b;
  },
};

const wireguardCodec: TlvCodec<WireguardTlv> = {
  name: 'WIREGUARD',
  bounds: { header: 0, minMsg: MSG_SIZE.WIREGUARD, fixed: false },
  extension: true,
  decode(_t, b) {
    if (b.length < MSG_SIZE.WIREGUARD)
      return fail('ERR_LENGTH', `WIREGUARD: ${b.length} bytes, needs ${MSG_SIZE.WIREGUARD}`);
    if (b[0]! < WIREGUARD_VERSION) return fail('ERR_VALUE', `WIREGUARD: version ${b[0]}`);
    return ok({
      type: TLV_TYPE.WIREGUARD,
      version: b[0]!,
      flags: b[1]!,
      listenPort: u16(b, 2),
      publicKey: take(b, 4, 32),
      extra: take(b, MSG_SIZE.WIREGUARD, b.length - MSG_SIZE.WIREGUARD),
    });
  },
  encode(v) {
    const b = new Uint8Array(MSG_SIZE.WIREGUARD + v.extra.length);
    ensure(v.version >= WIREGUARD_VERSION, 'WIREGUARD version 0');
    b[0] = byte(v.version, 'WIREGUARD version');
    b[1] = byte(v.flags, 'WIREGUARD flags');
    put16(b, 2, byte(v.listenPort, 'WIREGUARD listenPort', 0xffff));
    b.set(fixedBytes(v.publicKey, 32, 'WIREGUARD publicKey'), 4);
    b.set(v.extra, MSG_SIZE.WIREGUARD);
    return b;
  },
};

const cryptTunCodec: TlvCodec<CryptTunTlv> = {
  name: 'CRYPT_TUN',
  bounds: { header: MSG_SIZE.CRYPT_TUN_HEADER, minMsg: MSG_SIZE.CRYPT_TUN_ENTRY, fixed: true },
  extension: true,
  decode(_t, b) {
    const H = MSG_SIZE.CRYPT_TUN_HEADER;
    const E = MSG_SIZE.CRYPT_TUN_ENTRY;
    if (b.length < H || (b.length - H) % E)
      return fail('ERR_LENGTH', `CRYPT_TUN: ${b.length} bytes is not ${H} + ${E}·n`);
    if (b[0]! < CRYPT_TUN_VERSION) return fail('ERR_VALUE', `CRYPT_TUN: version ${b[0]}`);
    const entries: CryptTunEntry[] = [];
    for (let o = H; o < b.length; o += E) {
      const crypt = b[o]!;
      const family = b[o + 2]!;
      const prefixLen = b[o + 3]!;
      if (crypt > 2) return fail('ERR_VALUE', `CRYPT_TUN entry at ${o}: crypt ${crypt}`);
      if (family !== 4 && family !== 6) return fail('ERR_VALUE', `CRYPT_TUN entry at ${o}: family ${family}`);
      if (prefixLen > (family === 4 ? 32 : 128))
        return fail('ERR_VALUE', `CRYPT_TUN entry at ${o}: prefix length ${prefixLen} for IPv${family}`);
      if (family === 4 && b.subarray(o + 8, o + E).some((x) => x !== 0))
        return fail('ERR_VALUE', `CRYPT_TUN entry at ${o}: IPv4 address padding not zero`);
      entries.push({
        crypt: crypt as CryptTunEntry['crypt'],
        flags: b[o + 1]!,
        family,
        prefixLen,
        address: take(b, o + 4, family === 4 ? 4 : 16),
      });
    }
    return ok({ type: TLV_TYPE.CRYPT_TUN, version: b[0]!, flags: b[1]!, entries });
  },
  encode(v) {
    const H = MSG_SIZE.CRYPT_TUN_HEADER;
    const E = MSG_SIZE.CRYPT_TUN_ENTRY;
    const b = new Uint8Array(H + v.entries.length * E);
    ensure(v.version >= CRYPT_TUN_VERSION, 'CRYPT_TUN version 0');
    b[0] = byte(v.version, 'CRYPT_TUN version');
    b[1] = byte(v.flags, 'CRYPT_TUN flags');
    v.entries.forEach((e, i) => {
      const o = H + i * E;
      ensure(e.family === 4 || e.family === 6, `CRYPT_TUN family ${e.family}`);
      b[o] = byte(e.crypt, 'CRYPT_TUN crypt', 2);
      b[o + 1] = byte(e.flags, 'CRYPT_TUN entry flags');
      b[o + 2] = e.family;
      b[o + 3] = byte(e.prefixLen, 'CRYPT_TUN prefixLen', e.family === 4 ? 32 : 128);
      b.set(fixedBytes(e.address, e.family === 4 ? 4 : 16, `CRYPT_TUN IPv${e.family} address`), o + 4);
    });
    return b;
  },
};

/** Public-key length in bytes per PQ_KEM algorithm. */
const PQ_KEM_KEY_LEN: Readonly<Record<number, number>> = {
  [PQ_KEM_ALG.ML_KEM_768]: MSG_SIZE.PQ_KEM_ML_KEM_768_KEY,
};

const pqKemCodec: TlvCodec<PqKemTlv> = {
  name: 'PQ_KEM',
  bounds: { header: MSG_SIZE.PQ_KEM_HEADER, minMsg: MSG_SIZE.PQ_KEM_ML_KEM_768_KEY, fixed: false },
  extension: true,
  decode(_t, b) {
    const H = MSG_SIZE.PQ_KEM_HEADER;
    if (b.length < H) return fail('ERR_LENGTH', `PQ_KEM: ${b.length} bytes, fewer than the ${H}-byte header`);
    if (b[0]! < PQ_KEM_VERSION) return fail('ERR_VALUE', `PQ_KEM: version ${b[0]}`);
    const keyLen = PQ_KEM_KEY_LEN[b[1]!];
    if (keyLen === undefined) return fail('ERR_VALUE', `PQ_KEM: algorithm ${b[1]}`);
    if (b.length !== H + keyLen)
      return fail('ERR_LENGTH', `PQ_KEM: ${b.length - H} key bytes for algorithm ${b[1]}, needs ${keyLen}`);
    const reserved = u16(b, 2);
    return ok({
      type: TLV_TYPE.PQ_KEM,
      version: b[0]!,
      alg: b[1]!,
      publicKey: take(b, H, keyLen),
      ...(reserved ? { reserved } : {}),
    });
  },
  encode(v) {
    const H = MSG_SIZE.PQ_KEM_HEADER;
    const keyLen = PQ_KEM_KEY_LEN[v.alg];
    ensure(keyLen !== undefined, `PQ_KEM algorithm ${v.alg}`);
    ensure(v.version >= PQ_KEM_VERSION, 'PQ_KEM version 0');
    const b = new Uint8Array(H + keyLen!);
    b[0] = byte(v.version, 'PQ_KEM version');
    b[1] = v.alg;
    put16(b, 2, byte(v.reserved ?? 0, 'PQ_KEM reserved', 0xffff));
    b.set(fixedBytes(v.publicKey, keyLen!, `PQ_KEM algorithm ${v.alg} publicKey`), H);
    return b;
  },
};

/** The plugins' and extensions' TLV types → codec (joined into TLV_CODECS). */
export const PLUGIN_TLV_CODECS: Readonly<Partial<Record<number, TlvCodec>>> = {
  [TLV_TYPE.TUN6]: addrList<Tun6Tlv>('TUN6', 'endpoints') as TlvCodec,
  [TLV_TYPE.TUN4IN6_INGRESS]: ingressCodec('TUN4IN6_INGRESS', 4) as TlvCodec,
  [TLV_TYPE.TUN6IN6_INGRESS]: ingressCodec('TUN6IN6_INGRESS', 16) as TlvCodec,
  [TLV_TYPE.TUN4IN6_SRC]: srcCodec('TUN4IN6_SRC', 4) as TlvCodec,
  [TLV_TYPE.TUN6IN6_SRC]: srcCodec('TUN6IN6_SRC', 16) as TlvCodec,
  [TLV_TYPE.TUN4IN6_NET]: netCodec('TUN4IN6_NET', 4) as TlvCodec,
  [TLV_TYPE.TUN6IN6_NET]: netCodec('TUN6IN6_NET', 16) as TlvCodec,
  [TLV_TYPE.TOPOLOGY]: topologyCodec as TlvCodec,
  [TLV_TYPE.SMS]: smsCodec as TlvCodec,
  [TLV_TYPE.WIREGUARD]: wireguardCodec as TlvCodec,
  [TLV_TYPE.CRYPT_TUN]: cryptTunCodec as TlvCodec,
  [TLV_TYPE.PQ_KEM]: pqKemCodec as TlvCodec,
};
