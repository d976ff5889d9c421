// Seccomp supervision: the decision tables for the C loop and its audit events.
export {
  compileTables,
  encodeTables,
  denyGlob,
  rightsOf,
  addressBytes,
  METADATA_ADDRESSES,
  TABLES_MAGIC,
  type SupervisorTables,
  type TablesInput,
  type NetRule,
  type MetaAddress,
} from "./tables.js";
export { decodeEvent, formatDenial, denialReporter, networkRefusalNote, type SupervisorEvent, type SupervisorSyscall } from "./events.js";
