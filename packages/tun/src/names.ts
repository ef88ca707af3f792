/**
 * The names of the devices the tun plugin makes from `tunDevName`, and the longest `tunDevName`
 * whose names fit Linux's interface names. A name that does not fit is refused by the kernel, so
 * the option check keeps the prefix short enough for the longest name any plugin derives from it
 * (docs/protocol.md §4.14 "Tunnel devices").
 */

import { IFNAME_MAX } from './dataplane/packet.js';

export { IFNAME_MAX };
/** Hex digits of a gateway's id in a device name (its short id, as `show originators` gives it). */
export const SHORT_ID_DIGITS = 8;
/** The client's device type between tunDevName and the gateway id (the reference's DEF_TUN_NAME_TYPE_OUT). */
const OUT_TYPE = 'Out';

/**
 * How many characters a client's tunnel device adds to tunDevName: `Out_` and the gateway's short
 * id. The same for every tun6Id (see outDeviceName).
 */
export const OUT_DEVICE_SUFFIX_LENGTH = OUT_TYPE.length + 1 + SHORT_ID_DIGITS;

/**
 * A client's tunnel device towards the tunDev `tun6Id` of gateway `gatewayId` (hex):
 * `<tunDevName>Out_<8 hex digits>` for tun6Id 0 (`X7Out_6484B2ED`, the reference's name);
 * `<tunDevName>Out<tun6Id in hex>_<the rest of the short id>` for the others (`X7Out1_6484B2E`),
 * so every name has the same length. The reference names the second device of a gateway with a
 * counter instead; the name is local to the node and never on the wire. A tun6Id is one byte (two
 * hex digits at most).
 */
export function outDeviceName(tunDevName: string, gatewayId: string, tun6Id: number): string {
  const k = tun6Id === 0 ? '' : tun6Id.toString(16).toUpperCase();
  return `${tunDevName}${OUT_TYPE}${k}_${gatewayId.slice(0, SHORT_ID_DIGITS - k.length).toUpperCase()}`;
}

/**
 * The longest tunDevName whose derived names fit IFNAME_MAX: the tun plugin's own (a client's
 * outDeviceName) and those of the plugins given, by how many characters each adds at most.
 */
export function tunDevNameLimit(otherSuffixLengths: readonly number[] = []): number {
  return IFNAME_MAX - Math.max(OUT_DEVICE_SUFFIX_LENGTH, ...otherSuffixLengths);
}

/** The longest tunDevName for the tun plugin's own names: 3. */
export const TUN_DEV_NAME_MAX = tunDevNameLimit();
