export * from './dhm.js';
export * from './errors.js';
export * from './hash.js';
export * from './identity.js';
export * from './ogm-chain.js';
export { writePrivateFile } from './private-file.js';
export * from './rsa.js';
export * from './signatures.js';
export * from './wireguard.js';
