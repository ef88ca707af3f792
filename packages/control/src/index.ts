export * from './args.js';
export * from './config.js';
export * from './errors.js';
export * from './option-data.js';
export * from './options.js';
export * from './table.js';
export * from './tables.js';
