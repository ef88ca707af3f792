/**
 * Numbers of the BMX7 wire format (compatibility version 21), named as the reference names them
 * (docs/protocol.md §4; reference msg.h, crypt.h, desc.h, content.h).
 */

/** Compatibility version this codec speaks; receivers accept their own ±1 (4.1). */
export const COMPATIBILITY_VERSION = 21;

/** UDP port of all BMX7 traffic, source and destination (2.3). */
export const BMX7_PORT = 6270;

/** SHA-224 length: node ids, description hashes, content hashes (4.7). */
export const SHA_LEN = 28;
/** The "112-bit" items: OGM chain links, DHM MACs (first 14 bytes of a SHA-224). */
export const SHA112_LEN = 14;

/** Packet frame types (4.3; msg.h FRAME_TYPE_*). */
export const FRAME_TYPE = {
  RSVD0: 0,
  TRASH_ADV: 1,
  DESC_ADV: 2,
  CONTENT_ADV: 4,
  SIGNATURE_ADV: 8,
  OGM_AGG_SQN_ADV: 9,
  HELLO_ADV: 12,
  HELLO_REPLY_DHASH: 13,
  IID_ADV: 19,
  OGM_ADV: 21,
  OGM_REQ: 27,
  IID_REQ: 28,
  DESC_REQ: 29,
  CONTENT_REQ: 30,
  NOP: 31,
} as const;
export type KnownFrameType = (typeof FRAME_TYPE)[Exclude<keyof typeof FRAME_TYPE, 'RSVD0'>];
/** Frame types no core or plugin registers: decoded as `{ unknown: true, raw }`. */
export type UnknownFrameType =
  | 0
  | 3
  | 5
  | 6
  | 7
  | 10
  | 11
  | 14
  | 15
  | 16
  | 17
  | 18
  | 20
  | 22
  | 23
  | 24
  | 25
  | 26;
export type FrameType = KnownFrameType | UnknownFrameType;

/** Frames of a type below this are sent in unsigned packets; >= it need the SIGNATURE frame (4.2). */
export const FRAME_TYPE_SIGN_MUST_MIN = 8;

/** Description TLV types (4.8; msg.h BMX_DSC_TLV_*). */
export const TLV_TYPE = {
  CONTENT_HASH: 0,
  NODE_PUBKEY: 1,
  DSC_SIGNATURE: 2,
  VERSION: 3,
  RSA_LINK_PUBKEY: 5,
  DHM_LINK_PUBKEY: 6,
  NAMES_UNUSED: 7,
  BOYCOTS: 8,
  SUPPORTS: 9,
  TRUSTS: 10,
  DISTRUSTS: 11,
  METRIC: 13,
  LLIP: 14,
  HNA6: 15,
  TUN6_MIN: 16,
  TUN6: 17,
  TUN4IN6_INGRESS: 18,
  TUN6IN6_INGRESS: 19,
  TUN4IN6_SRC: 20,
  TUN6IN6_SRC: 21,
  TUN4IN6_NET: 22,
  TUN6IN6_NET: 23,
  /** bmx7d extension in a free type (§4.13 "WIREGUARD"); the reference relays and ignores it. */
  WIREGUARD: 24,
  /** bmx7d extension, docs/protocol.md §4.13 "CRYPT_TUN"; the reference relays and ignores it. */
  CRYPT_TUN: 25,
  /** bmx7d extension, docs/protocol.md §4.13 "PQ_KEM"; the reference relays and ignores it. */
  PQ_KEM: 26,
  TOPOLOGY: 27,
  INFO: 28,
  SMS: 29,
  SIGNATURE_DUMMY: 31,
} as const;
/** TLV types with a handler in the reference or its plugins (decoded into fields). */
export type KnownTlvType =
  | 1
  | 2
  | 3
  | 5
  | 6
  | 9
  | 10
  | 13
  | 14
  | 15
  | 17
  | 18
  | 19
  | 20
  | 21
  | 22
  | 23
  | 27
  | 28
  | 29;
/**
 * TLV types without a handler in the reference (kept as raw bytes; 4, 12, 24-26, 30 are free for
 * extensions). 24 is bmx7d's WIREGUARD, 25 its CRYPT_TUN and 26 its PQ_KEM: each decodes as such when
 * valid, and stays raw otherwise.
 */
export type UnknownTlvType = 4 | 7 | 8 | 11 | 12 | 16 | 24 | 25 | 26 | 30 | 31;

/** Largest frame (11-bit length field, header included). */
export const FRAME_LENGTH_MAX = 2047;
/** Frame (and TLV) header size: type 5 bits, length 11 bits (4.2). */
export const FRAME_HEADER_SIZE = 2;
/** Packet header: cv, reserved, sender node id (4.1). */
export const PACKET_HEADER_SIZE = 30;
/** Largest UDP payload: 1280 - 40 - 8 (msg.h MAX_UDPD_SIZE). */
export const MAX_UDPD_SIZE = 1232;
/** Largest frames area of a packet (PKT_FRAMES_SIZE_MAX). */
export const PKT_FRAMES_SIZE_MAX = MAX_UDPD_SIZE - PACKET_HEADER_SIZE;
/** Largest description root (desc.h MAX_DESC_ROOT_SIZE = 1232 - 30 - 2·2). */
export const MAX_DESC_ROOT_SIZE = MAX_UDPD_SIZE - PACKET_HEADER_SIZE - 2 * FRAME_HEADER_SIZE;
/** Largest content body in CONTENT_ADV and chunk size (REF_CONTENT_BODY_SIZE_MAX = root − 1). */
export const REF_CONTENT_BODY_SIZE_MAX = MAX_DESC_ROOT_SIZE - 1;
/** Hashes per hash-list content: ⌊1197 / 28⌋. */
export const HASHES_PER_LIST = Math.floor(REF_CONTENT_BODY_SIZE_MAX / SHA_LEN);
/** Default max expanded length of one referenced TLV (DEF_VRT_FRAME_DATA_SIZE = 2·42·1197). */
export const VRT_FRAME_DATA_SIZE_DEFAULT = 2 * HASHES_PER_LIST * REF_CONTENT_BODY_SIZE_MAX;
/** Largest expanded length the 24-bit field and the reference's maximum option allow. */
export const VRT_FRAME_DATA_SIZE_MAX = 32 * HASHES_PER_LIST * REF_CONTENT_BODY_SIZE_MAX;
/** Deepest content nesting the reference accepts (MAX_REF_NESTING). */
export const MAX_REF_NESTING = 2;

/** SIGNATURE frame data header: descSqn u32, burstSqn u32, devIdx u8. */
export const SIGNATURE_HEADER_SIZE = 9;
/** A DHM MAC signature message: key type u8 + 14-byte MAC. */
export const DHM_MAC_MESSAGE_SIZE = 1 + SHA112_LEN;
/** Content-hash TLV header: expanded hash 28 + word 4 (content.h dsc_hdr_chash). */
export const CHASH_HEADER_SIZE = 32;
/** VERSION TLV body size (sec.h dsc_msg_version). */
export const VERSION_SIZE = 44;
/** Mandatory part of the METRIC TLV (metrics.h mandatory_tlv_metricalgo). */
export const METRIC_SIZE = 36;
/** Smallest DESC_ADV body: chash TLV 34 + signature TLV 3 + VERSION TLV 46 (desc.c). */
export const DESC_ADV_MIN_SIZE = 2 + CHASH_HEADER_SIZE + 2 + 1 + 2 + VERSION_SIZE;
/** OGM message without hop history: chainOgm 14 + word 4. */
export const OGM_MSG_SIZE = 18;
/** One hop-history entry of an OGM: word 2 + channel 1. */
export const OGM_HISTORY_ENTRY_SIZE = 3;
/** Most hop-history entries in one OGM (node.h MAX_OGM_HOP_HISTORY_SZ). */
export const MAX_OGM_HOP_HISTORY_SZ = 10;
/** IIDs are 14 bits wide in OGMs. */
export const IID_MAX = 0x3fff;
/** Sizes of fixed-size messages. */
export const MSG_SIZE = {
  HELLO_ADV: 2,
  HELLO_REPLY_DHASH: 30,
  OGM_AGG_SQN_ADV: 4,
  IID_ADV: 48,
  OGM_REQ: 2,
  IID_REQ: 2,
  DESC_REQ: 28,
  CONTENT_REQ: 28,
  TRUST: 30,
  LLIP: 16,
  HNA6: 18,
  TUN6: 16,
  TUN4IN6_INGRESS: 6,
  TUN6IN6_INGRESS: 18,
  TUN4IN6_SRC: 8,
  TUN6IN6_SRC: 20,
  TUN4IN6_NET: 8,
  TUN6IN6_NET: 20,
  TOPOLOGY: 44,
  TOPOLOGY_HEADER: 2,
  /** WIREGUARD version 1: version, flags, listen port u16, X25519 public key 32 (§4.13). */
  WIREGUARD: 36,
  /** CRYPT_TUN header: version u8, flags u8 (§4.13). */
  CRYPT_TUN_HEADER: 2,
  /** A CRYPT_TUN entry: crypt u8, flags u8, family u8, prefix length u8, address 16 (§4.13). */
  CRYPT_TUN_ENTRY: 20,
  /** PQ_KEM header: version u8, alg u8, reserved u16 (§4.13); the public key follows. */
  PQ_KEM_HEADER: 4,
  /** A PQ_KEM ML-KEM-768 public key (FIPS 203 encapsulation key, §4.13). */
  PQ_KEM_ML_KEM_768_KEY: 1184,
  INFO_HEADER: 20,
  SMS_HEADER: 20,
  SMS_NAME: 16,
} as const;

/** WIREGUARD TLV versions and capability flags (§4.13 "WIREGUARD"). */
export const WIREGUARD_VERSION = 1;
export const WIREGUARD_FLAG = {
  /** The node announces a post-quantum KEM key in a PQ_KEM TLV (§4.13 "PQ_KEM"). */
  PQ_KEM: 0x01,
} as const;

/** CRYPT_TUN TLV version and entry flags (§4.13 "CRYPT_TUN"). */
export const CRYPT_TUN_VERSION = 1;
export const CRYPT_TUN_FLAG = {
  /** The entry's network is one of the node's tunnel source networks (a tunDev network). */
  SOURCE: 0x01,
} as const;

/** PQ_KEM TLV version and KEM algorithms (§4.13 "PQ_KEM"). */
export const PQ_KEM_VERSION = 1;
export const PQ_KEM_ALG = {
  /** ML-KEM-768 (FIPS 203): a 1184-byte public key. */
  ML_KEM_768: 1,
} as const;

/** RSA key types (crypt.h CRYPT_RSA*_TYPE); only 4-8 are usable by the reference. */
export const RSA_KEY_TYPE = {
  RSA512: 1,
  RSA768: 2,
  RSA896: 3,
  RSA1024: 4,
  RSA1536: 5,
  RSA2048: 6,
  RSA3072: 7,
  RSA4096: 8,
} as const;
/** Modulus / signature length in bytes per RSA key type (crypt.h CRYPT_RSA*_LEN). */
export const RSA_KEY_LEN: Readonly<Record<number, number>> = {
  1: 64,
  2: 96,
  3: 112,
  4: 128,
  5: 192,
  6: 256,
  7: 384,
  8: 512,
};
/** DHM link key types (crypt.h CRYPT_DHM*_TYPE); 16 is named but cannot be used. */
export const DHM_KEY_TYPE = { DH1024M112: 16, DH2048M112: 17, DH3072M112: 18 } as const;
/**
 * Public value length in bytes per DHM key type. The current reference uses 17 and 18 only; 16
 * (1024 bit) was usable by older builds, so its MAC messages still parse.
 */
export const DHM_KEY_LEN: Readonly<Record<number, number>> = { 16: 128, 17: 256, 18: 384 };

/** Reference names of key types, as `show=` tables print them. */
export function keyTypeName(type: number): string {
  switch (type) {
    case 1:
      return 'RSA512';
    case 2:
      return 'RSA768';
    case 3:
      return 'RSA896';
    case 4:
      return 'RSA1024';
    case 5:
      return 'RSA1536';
    case 6:
      return 'RSA2048';
    case 7:
      return 'RSA3072';
    case 8:
      return 'RSA4096';
    case 16:
      return 'DH1024M112';
    case 17:
      return 'DH2048M112';
    case 18:
      return 'DH3072M112';
    default:
      return `KEY${type}`;
  }
}

/** HNA6 flag: announced but never routed (DESC_MSG_HNA_FLAG_NO_ROUTE). */
export const HNA6_FLAG_NO_ROUTE = 0x01;

const FRAME_NAMES: Readonly<Record<number, string>> = {
  1: 'TRASH_ADV',
  2: 'DESC_ADV',
  4: 'CONTENT_ADV',
  8: 'SIGNATURE_ADV',
  9: 'OGM_AGG_SQN_ADV',
  12: 'HELLO_ADV',
  13: 'HELLO_REPLY_DHASH',
  19: 'IID_ADV',
  21: 'OGM_ADV',
  27: 'OGM_REQ',
  28: 'IID_REQ',
  29: 'DESC_REQ',
  30: 'CONTENT_REQ',
  31: 'NOP',
};
/** Reference name of a frame type ("FRAME_<n>" for unknown types). */
export function frameTypeName(type: number): string {
  return FRAME_NAMES[type] ?? `FRAME_${type}`;
}

const TLV_NAMES: Readonly<Record<number, string>> = Object.fromEntries(
  Object.entries(TLV_TYPE).map(([k, v]) => [v, k]),
);
/** Reference name of a description TLV type ("TLV_<n>" for unknown types). */
export function tlvTypeName(type: number): string {
  return TLV_NAMES[type] ?? `TLV_${type}`;
}
