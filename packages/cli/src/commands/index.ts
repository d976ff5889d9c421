// Subcommands other than run/doctor. Each: (argv after the subcommand name, io) → exit code
// (0 ok, 2 usage or validation error, 1 other failure).
export { policyCommand } from "./policy.js";
export { wrapCommand, unwrapCommand, clientConfigPath, transformConfig, unifiedDiff, BACKUP_SUFFIX } from "./wrap.js";
export { auditCommand } from "./audit.js";
export { learnCommand } from "./learn.js";
export { pinCommand } from "./pin.js";
export type { CmdIo } from "./common.js";
