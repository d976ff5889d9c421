// The policy format: the single source of the policy's types. Everything a user can say about a
// jail is a field here; CLI flags are parsed into the same shape (flags.ts) and merged over the file.
// The JSON Schema shipped for editors is generated from these definitions, never written by hand.
import * as z from "zod";
import { AllowParseError, Allowlist, parseAllowEntry } from "../egress/allowlist.js";
import { nameBlocks, NameRangeError } from "../egress/names.js";

/** "512M", "1G", "65536" (bytes), or a number of bytes. Binary units (K = 1024). */
export const SizeSchema = z
  .union([z.number().int().positive(), z.string().regex(/^\d+(\.\d+)?\s*([KMGT]i?B?|B)?$/i, "is not a size such as 512M or 1G")])
  .describe("A size in bytes, or a number with a unit: K, M, G (binary: 1K = 1024)");

/** `PATH` or `PATH:DEST`: a host path and where it appears inside the jail (same path by default). */
export const GrantSchema = z
  .union([
    z.string().min(1, "is empty"),
    z.object({ path: z.string().min(1), dest: z.string().min(1).optional() }).strict(),
  ])
  .describe("A host path granted to the jail: PATH, PATH:DEST, or { path, dest }");

/** "2000" or 2000 (milliseconds), "1500ms", "2s", "1m". Normalized to milliseconds. */
export const DurationSchema = z
  .union([z.number().int().nonnegative(), z.string().regex(/^\d+(\.\d+)?\s*(ms|s|m)?$/, "is not a duration such as 2s or 1500ms")])
  .transform((v) => durationToMs(v))
  .describe("A duration: milliseconds as a number, or a number with a unit: ms, s, m");

export function durationToMs(v: string | number): number {
  if (typeof v === "number") return v;
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m)?$/.exec(v.trim());
  if (!m) return NaN;
  const n = Number(m[1]);
  const mult = m[2] === "s" ? 1000 : m[2] === "m" ? 60_000 : 1;
  return Math.round(n * mult);
}

export const EnvNameSchema = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "is not an environment variable name");

/** `HOST[:PORT]`, `*.example.com[:PORT]`, an IP literal, `[v6]:PORT`, or a CIDR: what the egress
 * proxy's allowlist accepts (egress/allowlist.ts is the one grammar of these entries). */
export const NetAllowSchema = z
  .string()
  .superRefine((s, ctx) => {
    const why = netAllowProblem(s);
    if (why !== null) ctx.addIssue({ code: "custom", message: why });
  })
  .describe("HOST[:PORT] (port defaults to 443 and 80), *.example.com for subdomains, an IP or a CIDR");

/** Why a network.allow entry is refused ("is not HOST[:PORT]: ..."), or null when it is accepted. */
export function netAllowProblem(s: string): string | null {
  try {
    parseAllowEntry(s);
    return null;
  } catch (e) {
    if (e instanceof AllowParseError) return `is not HOST[:PORT]${e.reason ? `: ${e.reason}` : ""}`;
    throw e;
  }
}

/** The grammar of a network.allow entry (exported for flags.ts and tests). */
export function isNetAllow(s: string): boolean {
  return netAllowProblem(s) === null;
}

export const SecretSchema = z
  .object({
    name: EnvNameSchema.describe("Variable name inside the jail"),
    fromFile: z.string().min(1).optional().describe("Read the value from this file (trailing newline dropped)"),
    fromEnv: EnvNameSchema.optional().describe("Read the value from this variable of mcp-j's environment"),
  })
  .strict()
  .refine((s) => (s.fromFile === undefined) !== (s.fromEnv === undefined), "needs exactly one of fromFile or fromEnv")
  .describe("An environment variable whose value is read from a file or another variable; never logged");

export const FilesystemSchema = z
  .object({
    ro: z.array(GrantSchema).default([]).describe("Read-only (and executable) grants"),
    rw: z.array(GrantSchema).default([]).describe("Read-write grants, never executable"),
    exec: z.array(z.string().min(1)).default([]).describe("Extra executables the server may execve"),
    deny: z.array(z.string().min(1)).default([]).describe("Globs refused inside grants, such as **/.env"),
    cwd: z.string().min(1).optional().describe("Working directory inside the jail"),
  })
  .strict();

export const NetworkSchema = z
  .object({
    allow: z
      .array(NetAllowSchema)
      .default([])
      .superRefine((list, ctx) => {
        // The jail's resolver needs an address block per distinct set of ports (egress/names.ts).
        if (!list.every(isNetAllow)) return;
        try {
          nameBlocks(Allowlist.parse(list));
        } catch (e) {
          if (!(e instanceof NameRangeError)) throw e;
          ctx.addIssue({ code: "custom", message: e.message });
        }
      })
      .describe("Hosts reachable through the egress proxy"),
  })
  .strict();

export const EnvSchema = z
  .object({
    pass: z.array(EnvNameSchema).default([]).describe("Variables passed through from mcp-j's environment"),
    set: z.record(EnvNameSchema, z.string()).default({}).describe("Variables set to a value"),
    secrets: z.array(SecretSchema).default([]).describe("Variables whose values come from a file or a variable of mcp-j's environment; redacted from logs"),
  })
  .strict();

export const LimitsSchema = z
  .object({
    memory: SizeSchema.default("512M").describe("Memory limit for the whole jail (cgroup memory.max, or the supervisor's memory watch without cgroup v2)"),
    pids: z.number().int().positive().default(256).describe("Maximum number of processes and threads"),
    cpus: z.number().positive().optional().describe("CPU limit in cores (cgroup cpu.max); off by default"),
    openFiles: z.number().int().positive().default(1024).describe("RLIMIT_NOFILE"),
    tmpSize: SizeSchema.default("64M").describe("Size of the jail's /tmp tmpfs"),
  })
  .strict();

export const ToolsSchema = z
  .object({
    allow: z.array(z.string().min(1)).default([]).describe("Globs of tool names allowed (all when empty)"),
    deny: z.array(z.string().min(1)).default([]).describe("Globs of tool names denied (wins over allow)"),
  })
  .strict();

export const AuditSchema = z
  .object({
    file: z.string().min(1).optional().describe("JSON-lines audit log, appended to"),
    verbosity: z
      .enum(["denials", "decisions", "all"])
      .default("decisions")
      .describe("denials: only refusals; decisions: every allow/deny decision; all: also lifecycle and tool-call details"),
    rotateBytes: SizeSchema.default("16M").describe("Rotate the audit log when it grows past this size (FILE → FILE.1 → ... → FILE.N)"),
    keepFiles: z.number().int().min(1).max(100).default(4).describe("Rotated files kept besides FILE (the oldest is deleted, and the new file says so)"),
    attribution: z
      .boolean()
      .default(true)
      .describe("Give each supervisor and egress event the JSON-RPC requests in flight when it happened (docs/audit.md); learn mode and pinning turn it on"),
  })
  .strict();

export const ProxySchema = z
  .object({
    maxMessageBytes: SizeSchema.default("5M").describe("Largest JSON-RPC message accepted from either side"),
    denialText: z
      .boolean()
      .default(false)
      .describe("Also add a text content block to a tool call's result naming what the jail refused during the call (the _meta note is always added)"),
  })
  .strict();

export const PinSchema = z
  .object({
    file: z.string().min(1).optional().describe("Pin file: each tool's description, input schema and footprint, recorded on first run and compared on later runs"),
    enforce: z.boolean().default(false).describe("Hide and refuse a tool whose pin changed until `mcp-j pin accept FILE` (needs file)"),
  })
  .strict();

export const PolicySchema = z
  .object({
    $schema: z.string().optional().describe("Editor hint: path or URL of policy.schema.json; ignored by mcp-j"),
    extends: z.union([z.string(), z.array(z.string())]).optional().describe("Built-in profiles or files to start from"),
    filesystem: FilesystemSchema.default({ ro: [], rw: [], exec: [], deny: [] }).describe("What the jail can see, write and execute"),
    network: NetworkSchema.default({ allow: [] }).describe("Egress allowlist (default: no network)"),
    env: EnvSchema.default({ pass: [], set: {}, secrets: [] }).describe("The server's environment (cleared, then these)"),
    limits: LimitsSchema.default({ memory: "512M", pids: 256, openFiles: 1024, tmpSize: "64M" }).describe("Resource limits"),
    tools: ToolsSchema.default({ allow: [], deny: [] }).describe("MCP tool policy applied by the JSON-RPC proxy"),
    audit: AuditSchema.default({ verbosity: "decisions", rotateBytes: "16M", keepFiles: 4, attribution: true }).describe("Audit log"),
    proxy: ProxySchema.default({ maxMessageBytes: "5M", denialText: false }).describe("JSON-RPC proxy limits and notes"),
    pin: PinSchema.default({ enforce: false }).describe("Tool pinning (rug-pull and footprint changes)"),
    strict: z.boolean().default(false).describe("Refuse to start when a protection layer is weaker than asked"),
    grace: DurationSchema.default(2000).describe("Time between the client closing stdin and SIGTERM (then SIGKILL): milliseconds, or 2s"),
  })
  .strict();

export type Policy = z.output<typeof PolicySchema>;
export type PolicyInput = z.input<typeof PolicySchema>;
export type Grant = z.output<typeof GrantSchema>;

/** A grant as resolvePolicy() leaves it: the absolute host path as the user named it (symlinks not
 * yet resolved: the jail resolves them, once), the jail path when one was named (otherwise the
 * grant appears at its real path), and where it came from, for messages. */
export const ResolvedGrantSchema = z
  .object({
    path: z.string().min(1),
    dest: z.string().min(1).optional(),
    from: z.string().min(1).describe('Where the grant came from: "--ro PATH", "policy.yaml: filesystem.ro[2]"'),
  })
  .strict();
export type ResolvedGrant = z.output<typeof ResolvedGrantSchema>;

/** What resolvePolicy() returns: a Policy whose grants are resolved grants. */
export const ResolvedPolicySchema = PolicySchema.extend({
  filesystem: FilesystemSchema.extend({
    ro: z.array(ResolvedGrantSchema).default([]),
    rw: z.array(ResolvedGrantSchema).default([]),
  }).default({ ro: [], rw: [], exec: [], deny: [] }),
});
export type ResolvedPolicy = z.output<typeof ResolvedPolicySchema>;
