export * from './attr.js';
export * from './client.js';
export * from './errors.js';
export * from './genl.js';
export * from './memory-socket.js';
export * from './nlmsg.js';
export * from './rtnl-link.js';
export * from './socket.js';
