// Audit log: schema (versioned), writer (O_APPEND, whole lines, rotation, redaction), summary.
export * from "./schema.js";
export { openAuditLog, redact, REDACTED, type AuditLog, type AuditLogOptions } from "./writer.js";
export { AuditLogError, type AuditLogErrorCode } from "./open.js";
export { summarizeAudit, formatAuditSummary, type AuditSummary, type JailSummary } from "./summarize.js";
