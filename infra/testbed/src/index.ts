export {
  createMesh,
  type DaemonExit,
  type DaemonSpec,
  linkLocalOf,
  listBedNamespaces,
  type Mesh,
  type MeshLink,
  type MeshNode,
  type MeshOptions,
} from './mesh.js';
export {
  MAX_NODES,
  type MeshPlan,
  parseTopology,
  planTopology,
  type Topology,
  TopologyError,
} from './topology.js';
