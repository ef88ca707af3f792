export * from './wireguard.js';
