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
export type { WgComponents, WgPeer, WgPlugin, WgPluginInit } from './plugin.js';
export {
  admittedPeer,
  createWgPlugin,
  DEFAULT_PEER_GRACE_MS,
  DEFAULT_WG_LISTEN_PORT,
  WG_PLUGIN_OPTIONS,
  wireguardBody,
} from './plugin.js';
