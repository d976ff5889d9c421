// The policy format: the single source of the policy's types. Everything a user can say about a
// jail is a field here; CLI flags are parsed into the same shape (flags.ts) and merged over the file.
// The JSON Schema shipped for editors is generated from these definitions, never written by hand.
import { z } from "zod";

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

export const EnvNameSchema = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "is not an environment variable name");

/** `HOST[:PORT]`, `*.example.com[:PORT]`, an IP literal, `[v6]:PORT`, or a CIDR. */
export const NetAllowSchema = z
  .string()
  .regex(/^(\*\.)?[A-Za-z0-9.\-_:[\]/]+$/, "is not HOST[:PORT]")
  .refine((s) => !s.includes("://"), "is not HOST[:PORT]")
  .describe("HOST[:PORT] (port defaults to 443 and 80), *.example.com for subdomains, an IP or a CIDR");

export const SecretSchema = z
  .object({
    name: EnvNameSchema,
    fromFile: z.string().min(1).optional(),
    fromEnv: EnvNameSchema.optional(),
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
    allow: z.array(NetAllowSchema).default([]).describe("Hosts reachable through the egress proxy"),
  })
  .strict();

export const EnvSchema = z
  .object({
    pass: z.array(EnvNameSchema).default([]).describe("Variables passed through from mcp-j's environment"),
    set: z.record(EnvNameSchema, z.string()).default({}).describe("Variables set to a value"),
    secrets: z.array(SecretSchema).default([]),
  })
  .strict();

export const LimitsSchema = z
  .object({
    memory: SizeSchema.default("512M").describe("Memory limit (cgroup memory.max or RLIMIT_AS)"),
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
    verbosity: z.enum(["denials", "decisions", "all"]).default("decisions"),
    rotateBytes: SizeSchema.optional().describe("Rotate the audit log when it grows past this size"),
  })
  .strict();

export const ProxySchema = z
  .object({
    maxMessageBytes: SizeSchema.default("5M").describe("Largest JSON-RPC message accepted from either side"),
  })
  .strict();

export const PolicySchema = z
  .object({
    $schema: z.string().optional(),
    extends: z.union([z.string(), z.array(z.string())]).optional().describe("Built-in profiles or files to start from"),
    filesystem: FilesystemSchema.default({ ro: [], rw: [], exec: [], deny: [] }),
    network: NetworkSchema.default({ allow: [] }),
    env: EnvSchema.default({ pass: [], set: {}, secrets: [] }),
    limits: LimitsSchema.default({ memory: "512M", pids: 256, openFiles: 1024, tmpSize: "64M" }),
    tools: ToolsSchema.default({ allow: [], deny: [] }),
    audit: AuditSchema.default({ verbosity: "decisions" }),
    proxy: ProxySchema.default({ maxMessageBytes: "5M" }),
    strict: z.boolean().default(false).describe("Refuse to start when a protection layer is weaker than asked"),
    grace: z.number().int().nonnegative().default(2000).describe("Milliseconds between stdin EOF and SIGTERM"),
  })
  .strict();

export type Policy = z.output<typeof PolicySchema>;
export type PolicyInput = z.input<typeof PolicySchema>;
export type Grant = z.output<typeof GrantSchema>;
