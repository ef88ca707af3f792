/**
 * The names of crypt-tun's WireGuard devices, made from the tun plugin's tunDevName. wireguard-go's
 * UAPI sockets are named after them and share one directory per machine, so the gateway's full
 * short id stays in the name.
 */
import { SHORT_ID_DIGITS } from '@bmx7/plugin-tun';

/** A client's WireGuard device towards a gateway: `<tunDevName>wg_<gateway short id>`. */
export function gatewayDeviceName(tunDevName: string, gatewayId: string): string {
  return `${tunDevName}wg_${gatewayId.slice(0, SHORT_ID_DIGITS).toUpperCase()}`;
}

/** A gateway's receiving WireGuard device: `<tunDevName>wgIn`. */
export function receivingDeviceName(tunDevName: string): string {
  return `${tunDevName}wgIn`;
}

/**
 * How many characters crypt-tun's device names add to tunDevName at most (the tun plugin's option
 * check keeps tunDevName short enough for them, through TunCryptHook.deviceSuffixLength).
 */
export const CRYPT_TUN_DEVICE_SUFFIX_LENGTH = Math.max(
  gatewayDeviceName('', '0'.repeat(SHORT_ID_DIGITS)).length,
  receivingDeviceName('').length,
);
