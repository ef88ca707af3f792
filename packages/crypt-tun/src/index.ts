export { CRYPT_TUN_DEVICE_SUFFIX_LENGTH, gatewayDeviceName, receivingDeviceName } from './names.js';
export type { CryptOffers } from './offers.js';
export { decodeOffers, NO_OFFERS, offerFor, offersWireguard, ownBody, ownEntries } from './offers.js';
export type { CryptTunComponents, CryptTunPlugin } from './plugin.js';
export {
  CLIENT_KEEPALIVE_S,
  CRYPT_ONLY_RULE_PREF,
  CRYPT_ONLY_TABLE,
  CRYPT_TUN_OPTIONS,
  createCryptTunPlugin,
} from './plugin.js';
export type { CryptDecision } from './policy.js';
export { cryptDecision, cryptLevel } from './policy.js';
