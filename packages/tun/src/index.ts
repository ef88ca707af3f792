export type {
  Tunnel,
  TunnelBackend,
  TunnelBackendKind,
  TunnelCounters,
  TunnelErrorCode,
  TunnelSpec,
} from './dataplane/types.js';
export { TunnelError } from './dataplane/types.js';
