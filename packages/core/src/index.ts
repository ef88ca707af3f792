export * from './config.js';
export {
  type CreditMatrix,
  type CreditSetting,
  type CreditSettings,
  creditAcronym,
  creditMatrix,
  parseCreditAcronym,
} from './credits.js';
export { createEngine, type Engine, type EngineCounters, KEY_STATE, type KeyState } from './engine.js';
export { IidRepo } from './iids.js';
export * from './links.js';
export * from './metrics.js';
export * from './ogms.js';
export type * from './plugin.js';
export type * from './ports.js';
export { RouteExport } from './routes.js';
export * from './selection.js';
