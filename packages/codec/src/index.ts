/**
 * @bmx7/codec: the BMX7 wire format (compatibility version 21) as pure functions over
 * Uint8Array. See README.md for the API overview and docs/protocol.md (§4) for the
 * protocol.
 */

export * from './build.js';
export * from './bytes.js';
export * from './constants.js';
export * from './content.js';
export * from './description.js';
export * from './frames.js';
export * from './header.js';
export * from './numbers.js';
export * from './packet.js';
export * from './pcap.js';
export * from './result.js';
export * from './tlv.js';
export * from './tlv-plugins.js';
