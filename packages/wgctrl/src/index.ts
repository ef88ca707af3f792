export type { Endpoint, IpAddr, IpPrefix } from './addr.js';
export { formatEndpoint, formatIp, formatPrefix, parseEndpoint, parseIp, parsePrefix } from './addr.js';
export { type WgBackendKind, WgctrlError, type WgctrlErrorCode } from './errors.js';
export { createMemoryWgctrl, type MemoryWgctrl, type MemoryWgctrlOptions } from './memory.js';
export type { ChildLike, SpawnFn, SupervisorClock, SupervisorEvent } from './supervisor.js';
export type {
  CreateDeviceOptions,
  SupervisedDevice,
  Wgctrl,
  WgDevice,
  WgDeviceConfig,
  WgPeer,
  WgPeerConfig,
} from './types.js';
export { createWgctrl, detectBackend, type WgctrlOptions } from './wgctrl.js';
