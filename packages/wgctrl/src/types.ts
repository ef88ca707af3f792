/**
 * The public shapes of @bmx7/wgctrl: plain data, keys in base64 as `wg` prints them.
 */
import type { WgBackendKind } from './errors.js';

/** A peer as read back from a device. */
export interface WgPeer {
  /** base64, 44 characters. */
  publicKey: string;
  /** Whether a pre-shared key is set (the key itself is never returned). */
  hasPresharedKey: boolean;
  /** "IP:port", IPv6 in brackets; absent until known (configured, or learnt from a handshake). */
  endpoint?: string;
  /** Prefixes with host bits cleared, e.g. "10.0.0.2/32", "fd00::/64", in the device's order. */
  allowedIps: string[];
  /** Seconds between keepalives; 0 is off. */
  persistentKeepalive: number;
  /** Unix time in milliseconds of the last completed handshake; 0 if none yet. */
  lastHandshakeMs: number;
  rxBytes: number;
  txBytes: number;
}

/** A device as read back. */
export interface WgDevice {
  name: string;
  /** base64; absent while the device has no private key. */
  publicKey?: string;
  /** The UDP port in use (a random one when configured as 0). */
  listenPort: number;
  /** 0 is off. */
  fwmark: number;
  peers: WgPeer[];
}

/** One peer entry of a configuration change. Fields left out are left as they are. */
export interface WgPeerConfig {
  /** base64; identifies the peer. */
  publicKey: string;
  /** Remove this peer (every other field is ignored). */
  remove?: boolean;
  /** Change the peer only if it exists already; never create it. */
  updateOnly?: boolean;
  /** base64; null removes it. */
  presharedKey?: string | null;
  /** "IP:port", IPv6 in brackets. */
  endpoint?: string;
  /** Seconds, 0 to 65535; 0 turns keepalives off. */
  persistentKeepalive?: number;
  /** Replace the peer's allowed IPs by `allowedIps` instead of adding to them. */
  replaceAllowedIps?: boolean;
  /** Prefixes to add ("10.0.0.2/32", "fd00::/64"; a bare address is a host prefix). */
  allowedIps?: string[];
}

/** A configuration change. Fields left out are left as they are. */
export interface WgDeviceConfig {
  /** base64; null removes it. */
  privateKey?: string | null;
  /** 0 picks a random port. */
  listenPort?: number;
  /** 0 turns it off. */
  fwmark?: number;
  /** Remove every peer not listed in `peers` (listed peers are set afresh). */
  replacePeers?: boolean;
  peers?: WgPeerConfig[];
}

export interface CreateDeviceOptions {
  /**
   * Bring the link up once created (default false: down, as `ip link add` leaves it). A supervised
   * wireguard-go device is brought up again after each restart.
   */
  up?: boolean;
}

/** The controller returned by createWgctrl. Every method is safe to call concurrently. */
export interface Wgctrl {
  /** The backend in use ('kernel' in auto mode may still route userspace devices to UAPI). */
  readonly backend: WgBackendKind;
  /** Names of the WireGuard devices this controller can see. */
  listDevices(): Promise<string[]>;
  getDevice(name: string): Promise<WgDevice>;
  /**
   * Applies a change. Nothing is sent if the configuration is invalid (ERR_WG_INVALID_CONFIG).
   * Neither API is atomic, so when the device rejects a change part-way, the controller reads the
   * device back and undoes what was applied before throwing.
   */
  configureDevice(name: string, config: WgDeviceConfig): Promise<void>;
  /**
   * Makes the device match `config` as `wg syncconf` does, changing only what differs so that
   * sessions of unchanged peers go on: peers not listed are removed; a listed peer gets exactly the
   * allowed IPs, pre-shared key and keepalive given (left out means none); an endpoint left out
   * stays as it is. Device fields left out are left alone. `replacePeers` and `updateOnly` are
   * ignored; `remove: true` entries are simply not listed.
   */
  syncDevice(name: string, config: WgDeviceConfig): Promise<void>;
  createDevice(name: string, opts?: CreateDeviceOptions): Promise<void>;
  deleteDevice(name: string): Promise<void>;
  /** wireguard-go processes this controller supervises (UAPI backend). */
  supervised(): SupervisedDevice[];
  /** Releases sockets; stops (and so deletes) the wireguard-go devices this controller started. */
  close(): Promise<void>;
}

export interface SupervisedDevice {
  name: string;
  /** Process id of the running wireguard-go, undefined while it is being restarted. */
  pid: number | undefined;
  /** How many times it was restarted after exiting. */
  restarts: number;
}
