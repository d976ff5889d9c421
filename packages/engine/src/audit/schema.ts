// The audit event schema: one JSON object per line, for every event from every layer. Versioned: every
// event carries `v: 1`; a change that is not backwards compatible bumps it. Documented in docs/audit.md.
import * as z from "zod";

export const AUDIT_VERSION = 1 as const;

const RequestId = z.union([z.string(), z.number(), z.null()]).describe("JSON-RPC id of the request in flight, when known");

const Base = {
  v: z.literal(AUDIT_VERSION),
  ts: z.string().describe("ISO 8601 time, UTC, millisecond precision"),
  jail: z.string().min(1).describe("Jail id (one per mcp-j run)"),
  request_id: RequestId.optional(),
  pid: z.number().int().optional().describe("Pid of the jailed process involved (jail pid namespace)"),
};

const Decision = z.enum(["allow", "deny"]);

/** One client request in flight (attribution, docs/audit.md). */
export const InFlightSchema = z
  .object({
    method: z.string(),
    id: z.union([z.string(), z.number()]),
    tool: z.string().optional().describe("For tools/call: the tool's name"),
  })
  .strict();

/** The client requests in flight when a supervisor or egress event happened: a set, because calls
 * run concurrently and the kernel cannot say which of them a syscall served; "idle" when none was. */
const Requests = z
  .union([z.literal("idle"), z.array(InFlightSchema).min(1)])
  .describe('The JSON-RPC requests in flight when it happened ("idle": none)');

export const JailStartEvent = z
  .object({
    ...Base,
    type: z.literal("jail.start"),
    server: z.string().optional().describe("Server name (mcp-j run NAME, or the wrapped client entry)"),
    command: z.array(z.string()),
    layers: z
      .record(z.string(), z.union([z.boolean(), z.string(), z.number()]))
      .describe('Each protection layer and what is in force: { userns: true, landlock: "abi 6", seccomp: true, cgroup: "v2"|"rlimits", ... }'),
    landlock_abi: z.number().int().nullable().describe("Landlock ABI in force (null: none)"),
    policy_sha256: z.string().optional(),
  })
  .strict();

export const SyscallEvent = z
  .object({
    ...Base,
    type: z.literal("syscall"),
    syscall: z.string().describe("openat, open, execve, execveat, connect, bind, sendto, ..."),
    decision: Decision,
    path: z.string().optional().describe("Resolved path (open/exec)"),
    access: z.enum(["read", "write", "readwrite", "create", "exec"]).optional(),
    addr: z.string().optional().describe("Address for connect/bind/sendto: 1.2.3.4:443, [::1]:80, unix:/path"),
    reason: z.string().optional().describe("Rule that decided: e.g. 'outside grants', 'deny glob **/.env', 'cloud metadata'"),
    errno: z.string().optional().describe("Errno returned on deny (EACCES, EPERM, ...)"),
    incomplete: z.literal(true).optional().describe("The supervisor's report left a value out (never cut) as too long to carry, or a path was not UTF-8 (shown with U+FFFD): what was touched is not exactly known"),
    requests: Requests.optional(),
  })
  .strict();

export const NetEvent = z
  .object({
    ...Base,
    type: z.literal("net"),
    decision: Decision,
    host: z.string(),
    port: z.number().int().min(0).max(65535),
    method: z.string().optional().describe("CONNECT, GET, POST, ..."),
    resolved: z.string().optional().describe("The address mcp-j checked and connected to"),
    reason: z.string().optional(),
    bytes_in: z.number().int().nonnegative().optional(),
    bytes_out: z.number().int().nonnegative().optional(),
    duration_ms: z.number().nonnegative().optional(),
    requests: Requests.optional(),
  })
  .strict();

export const ToolEvent = z
  .object({
    ...Base,
    type: z.literal("tool"),
    name: z.string(),
    decision: Decision,
    outcome: z.enum(["ok", "error", "denied", "cancelled", "no_response"]).optional(),
    duration_ms: z.number().nonnegative().optional(),
    bytes: z.number().int().nonnegative().optional().describe("Size of the response"),
    reason: z.string().optional(),
  })
  .strict();

export const PinEvent = z
  .object({
    ...Base,
    type: z.literal("pin"),
    name: z.string().describe("The tool"),
    change: z
      .enum(["new_tool", "description", "schema", "control_chars", "footprint"])
      .describe("What differs from the pin file: a tool it does not list, a changed description or input schema, control characters in the description, or a path class, executable or host outside the tool's recorded footprint"),
    detail: z.string().optional().describe("For footprint: what was touched (read /path, exec /bin/x, net host:port)"),
    enforced: z.boolean().describe("--pin-enforce: the tool is hidden and refused until `mcp-j pin accept`"),
    requests: Requests.optional(),
  })
  .strict();

export const LimitEvent = z
  .object({
    ...Base,
    type: z.literal("limit"),
    limit: z.enum(["memory", "pids", "cpu", "open_files", "tmp", "message_size", "connections", "other"]),
    event: z.string().describe("oom_kill, max, oversize_request, oversize_response, ..."),
    value: z.number().optional().describe("The configured limit, in its unit (bytes, count)"),
    detail: z.string().optional(),
  })
  .strict();

export const RpcEvent = z
  .object({
    ...Base,
    type: z.literal("rpc"),
    direction: z.enum(["client", "server"]).describe("Who sent the offending message"),
    code: z.number().int().describe("JSON-RPC error code answered or logged (-32700, -32600, ...)"),
    detail: z.string().optional(),
  })
  .strict();

export const ExitEvent = z
  .object({
    ...Base,
    type: z.literal("exit"),
    code: z.number().int().nullable(),
    signal: z.string().nullable(),
    reason: z
      .enum(["exited", "signaled", "stopped", "oom", "setup_failed", "supervisor_died"])
      .describe(
        "exited or signaled (the server on its own), stopped (by mcp-j: the client left, --grace), oom, setup_failed (the jail never ran), supervisor_died (it ran, then the supervisor died)",
      ),
    duration_ms: z.number().nonnegative().optional(),
  })
  .strict();

export const DroppedEvent = z
  .object({
    ...Base,
    type: z.literal("audit.dropped"),
    count: z.number().int().positive().describe("Events lost because the supervisor's event buffer was full"),
  })
  .strict();

export const RotatedEvent = z
  .object({
    // The writer's own note: it belongs to the file, not to one jail (several may share a log).
    v: Base.v,
    ts: Base.ts,
    type: z.literal("audit.rotated"),
    previous: z.string().describe("Where the lines before this one are now (FILE.1)"),
    deleted: z.string().nullable().describe("The oldest rotated file, deleted to keep the number of files bounded (null: none was)"),
  })
  .strict();

export const AuditEventSchema = z.discriminatedUnion("type", [
  JailStartEvent,
  SyscallEvent,
  NetEvent,
  ToolEvent,
  PinEvent,
  LimitEvent,
  RpcEvent,
  ExitEvent,
  DroppedEvent,
  RotatedEvent,
]);

export type AuditEvent = z.output<typeof AuditEventSchema>;
export type AuditEventType = AuditEvent["type"];
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
/** What callers pass to write(): `v` and `ts` are filled in when absent. */
export type AuditEventInput = DistributiveOmit<AuditEvent, "v" | "ts"> & { v?: 1; ts?: string };
