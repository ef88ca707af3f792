export type {
  WgDevices,
  WgDevicesOptions,
  WgDeviceWant,
  WgPeerWant,
  WgSystemPort,
} from './devices.js';
export { createWgDevices } from './devices.js';
export type { WgIdentity } from './identity.js';
export { loadWgIdentity, WG_PRIVATE_KEY_FILE, WgIdentityError } from './identity.js';
export { KEM_KEY_FILE, loadKemKeyPair } from './kem.js';
export type { SecretFileReader, WgComponents, WgPeer, WgPlugin, WgPluginInit } from './plugin.js';
export {
  admittedPeer,
  createWgPlugin,
  DEFAULT_PEER_GRACE_MS,
  DEFAULT_WG_LISTEN_PORT,
  readPsk,
  WG_PLUGIN_OPTIONS,
  wireguardBody,
} from './plugin.js';
export type { PqManager, PqManagerOptions, PqPair } from './pq/manager.js';
export { createPqManager } from './pq/manager.js';
export type { PqDecodeResult, PqMessage } from './pq/messages.js';
export { DEFAULT_PQ_PSK_PORT, decodePqMessage, encodePqMessage } from './pq/messages.js';
export type { PqCrypto, PqRole, PqSession, PqSessionOptions, PqSessionStatus } from './pq/session.js';
export { createPqSession, DEFAULT_PQ_PSK_INTERVAL_MS } from './pq/session.js';
export type { MemoryPqBus, PqTransport } from './pq/transport.js';
export { createMemoryPqBus } from './pq/transport.js';
