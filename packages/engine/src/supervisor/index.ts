// Seccomp supervision: the decision tables for the C loop and its audit events.
export {
  compileTables,
  denyGlobs,
  rightsOf,
  supervisorMeta,
  type SupervisorTables,
  type TablesInput,
  type NetRule,
  type MetaAddress,
} from "./tables.js";
export { encodeTables, TABLES_MAGIC } from "../jail/codec.js";
export { decodeEvent, formatDenial, denialReporter, networkRefusalNote, type SupervisorEvent, type SupervisorSyscall } from "./events.js";
