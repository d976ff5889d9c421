// The run command line → a policy overlay. Every flag maps to exactly one policy field (see FLAGS);
// repeatable flags accumulate, the others take the last value. Flags override the policy file: the
// overlay is merged last by resolvePolicy(). Everything after `--` (or from the first argument that is
// not a flag) is the command, kept as an argv array: never joined into a shell string.
import { PolicySchema, type PolicyInput, netAllowProblem } from "./schema.js";
import { PolicyError, formatIssues, formatPath } from "./errors.js";

export interface RunArgs {
  policyFile?: string;
  profiles: string[];
  /** Only what the flags set (no defaults), in the policy file's shape. */
  overlay: PolicyInput;
  command: string[];
}

type Kind = "list" | "string" | "size" | "int" | "number" | "bool" | "duration" | "env";

interface FlagSpec {
  name: string;
  meta: string; // value placeholder for --help ("" for booleans)
  kind: Kind;
  /** Policy field path (for lists: the list). Empty for --policy/--profile, handled specially. */
  field: string[];
  help: string;
}

/** The flag table: one row per flag, in --help order. The docs generator and tests read it too. */
export const FLAGS: readonly FlagSpec[] = [
  { name: "--policy", meta: "FILE", kind: "string", field: [], help: "Policy file (JSON with comments, or YAML); flags override it" },
  { name: "--profile", meta: "NAME", kind: "list", field: [], help: "Built-in profile to start from: node, python, npx (repeatable); none: infer nothing from the command" },
  { name: "--ro", meta: "PATH[:DEST]", kind: "list", field: ["filesystem", "ro"], help: "Grant PATH read-only (and executable for --allow-exec), at DEST in the jail" },
  { name: "--rw", meta: "PATH[:DEST]", kind: "list", field: ["filesystem", "rw"], help: "Grant PATH read-write (never executable)" },
  { name: "--allow-exec", meta: "PATH", kind: "list", field: ["filesystem", "exec"], help: "Allow the server to execute PATH (a name is looked up in PATH)" },
  { name: "--deny", meta: "GLOB", kind: "list", field: ["filesystem", "deny"], help: "Refuse paths matching GLOB inside grants, e.g. '**/.env'" },
  { name: "--cwd", meta: "DIR", kind: "string", field: ["filesystem", "cwd"], help: "Working directory inside the jail" },
  { name: "--env", meta: "NAME[=VALUE]", kind: "env", field: ["env"], help: "Pass NAME through from this environment, or set NAME=VALUE" },
  { name: "--allow-net", meta: "HOST[:PORT]", kind: "list", field: ["network", "allow"], help: "Allow egress to HOST (port 443 and 80 by default); *.example.com for subdomains" },
  { name: "--allow-tool", meta: "GLOB", kind: "list", field: ["tools", "allow"], help: "Only expose MCP tools matching GLOB (repeatable)" },
  { name: "--deny-tool", meta: "GLOB", kind: "list", field: ["tools", "deny"], help: "Hide and refuse MCP tools matching GLOB (wins over --allow-tool)" },
  { name: "--denial-text", meta: "", kind: "bool", field: ["proxy", "denialText"], help: "Also tell the model in a text block of a tool's result what the jail refused during the call" },
  { name: "--pin", meta: "FILE", kind: "string", field: ["pin", "file"], help: "Record each tool's description, schema and footprint in FILE; report changes on later runs" },
  { name: "--pin-enforce", meta: "", kind: "bool", field: ["pin", "enforce"], help: "Hide and refuse tools whose pin changed until `mcp-j pin accept FILE`" },
  { name: "--max-message-bytes", meta: "SIZE", kind: "size", field: ["proxy", "maxMessageBytes"], help: "Largest JSON-RPC message either side may send (default 5M)" },
  { name: "--memory", meta: "SIZE", kind: "size", field: ["limits", "memory"], help: "Memory limit (default 512M)" },
  { name: "--pids", meta: "N", kind: "int", field: ["limits", "pids"], help: "Process/thread limit (default 256)" },
  { name: "--cpus", meta: "F", kind: "number", field: ["limits", "cpus"], help: "CPU limit in cores, e.g. 0.5 (default: none)" },
  { name: "--open-files", meta: "N", kind: "int", field: ["limits", "openFiles"], help: "Open file limit (default 1024)" },
  { name: "--tmp-size", meta: "SIZE", kind: "size", field: ["limits", "tmpSize"], help: "Size of the jail's /tmp (default 64M)" },
  { name: "--audit-log", meta: "FILE", kind: "string", field: ["audit", "file"], help: "Append JSON-lines audit events to FILE" },
  { name: "--audit-rotate", meta: "SIZE", kind: "size", field: ["audit", "rotateBytes"], help: "Rotate the audit log at SIZE (FILE → FILE.1 → ...; audit.keepFiles kept)" },
  { name: "--strict", meta: "", kind: "bool", field: ["strict"], help: "Refuse to start when a protection layer is weaker than asked" },
  { name: "--grace", meta: "DURATION", kind: "duration", field: ["grace"], help: "Wait between stdin EOF and SIGTERM, e.g. 2s or 500 (ms) (default 2s)" },
];

const BY_NAME = new Map(FLAGS.map((f) => [f.name, f]));

function usage(msg: string): PolicyError {
  return new PolicyError("E_USAGE", `${msg} (see \`mcp-j --help\`)`);
}

function setIn(obj: Record<string, unknown>, path: string[], value: unknown): void {
  let cur = obj;
  for (const k of path.slice(0, -1)) {
    if (typeof cur[k] !== "object" || cur[k] === null) cur[k] = {};
    cur = cur[k] as Record<string, unknown>;
  }
  cur[path[path.length - 1]!] = value;
}

function pushIn(obj: Record<string, unknown>, path: string[], value: unknown): number {
  let cur = obj;
  for (const k of path.slice(0, -1)) {
    if (typeof cur[k] !== "object" || cur[k] === null) cur[k] = {};
    cur = cur[k] as Record<string, unknown>;
  }
  const last = path[path.length - 1]!;
  const arr = (cur[last] ??= []) as unknown[];
  arr.push(value);
  return arr.length - 1;
}

/**
 * Parses `mcp-j [flags] [--] CMD ARGS...`. Throws PolicyError("E_USAGE") naming the flag for unknown
 * flags, missing values and malformed values.
 */
export function parseRunArgs(argv: string[]): RunArgs {
  const overlay: Record<string, unknown> = {};
  const profiles: string[] = [];
  let policyFile: string | undefined;
  const origin = new Map<string, string>(); // formatted field path → flag name
  let command: string[] = [];

  let i = 0;
  while (i < argv.length) {
    const arg = argv[i]!;
    if (arg === "--") {
      command = argv.slice(i + 1);
      break;
    }
    if (!arg.startsWith("-") || arg === "-") {
      command = argv.slice(i); // first non-flag word starts the command, like env(1)
      break;
    }
    const eq = arg.indexOf("=");
    const name = arg.startsWith("--") && eq > 0 ? arg.slice(0, eq) : arg;
    const spec = BY_NAME.get(name);
    if (!spec) {
      if (name === "--help" || name === "-h") throw usage(`${name} is not a run flag`);
      throw usage(`unknown flag ${JSON.stringify(name)}`);
    }
    let value: string | undefined;
    if (spec.kind === "bool") {
      if (eq > 0) {
        const v = arg.slice(eq + 1);
        if (v !== "true" && v !== "false") throw usage(`${spec.name} ${JSON.stringify(v)}: expected true or false`);
        setIn(overlay, spec.field, v === "true");
      } else setIn(overlay, spec.field, true);
      origin.set(formatPath(spec.field), spec.name);
      i++;
      continue;
    }
    if (eq > 0) {
      value = arg.slice(eq + 1);
      i++;
    } else {
      value = argv[i + 1];
      if (value === undefined || value === "--") throw usage(`${spec.name} needs a value: ${spec.name} ${spec.meta}`);
      i += 2;
    }
    const bad = (what: string) => usage(`${spec.name} ${JSON.stringify(value)}: ${what}`);
    switch (spec.kind) {
      case "list":
        if (spec.name === "--profile") {
          if (!/^[A-Za-z0-9._-]+$/.test(value) && !value.includes("/")) throw bad("is not a profile name");
          profiles.push(value);
        } else {
          if (value === "") throw bad("is empty");
          const why = spec.name === "--allow-net" ? netAllowProblem(value) : null;
          if (why !== null) throw bad(why);
          const idx = pushIn(overlay, spec.field, value);
          origin.set(formatPath([...spec.field, idx]), spec.name);
        }
        break;
      case "string":
        if (value === "") throw bad("is empty");
        if (spec.name === "--policy") {
          if (policyFile !== undefined) throw usage(`--policy given twice (${JSON.stringify(policyFile)} and ${JSON.stringify(value)}); use extends: in the file to combine policies`);
          policyFile = value;
        } else {
          setIn(overlay, spec.field, value);
          origin.set(formatPath(spec.field), spec.name);
        }
        break;
      case "size":
        if (!/^\d+(\.\d+)?\s*([KMGT]i?B?|B)?$/i.test(value) || /^0+(\.0+)?\D*$/.test(value)) throw bad("is not a size such as 512M or 1G");
        setIn(overlay, spec.field, value);
        origin.set(formatPath(spec.field), spec.name);
        break;
      case "int":
        if (!/^\d+$/.test(value) || Number(value) <= 0 || !Number.isSafeInteger(Number(value))) throw bad("is not a positive integer");
        setIn(overlay, spec.field, Number(value));
        origin.set(formatPath(spec.field), spec.name);
        break;
      case "number":
        if (!/^\d+(\.\d+)?$|^\.\d+$/.test(value) || Number(value) <= 0) throw bad("is not a positive number");
        setIn(overlay, spec.field, Number(value));
        origin.set(formatPath(spec.field), spec.name);
        break;
      case "duration":
        if (!/^\d+(\.\d+)?\s*(ms|s|m)?$/.test(value)) throw bad("is not a duration such as 2s or 1500ms");
        setIn(overlay, spec.field, value);
        origin.set(formatPath(spec.field), spec.name);
        break;
      case "env": {
        const m = /^([^=]*)(=([\s\S]*))?$/.exec(value)!;
        const envName = m[1]!;
        if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(envName)) throw bad("is not NAME or NAME=VALUE");
        if (m[2] === undefined) {
          const idx = pushIn(overlay, ["env", "pass"], envName);
          origin.set(formatPath(["env", "pass", idx]), spec.name);
        } else {
          const env = (overlay.env ??= {}) as Record<string, unknown>;
          const set = (env.set ??= {}) as Record<string, string>;
          set[envName] = m[3]!;
          origin.set(formatPath(["env", "set", envName]), spec.name);
        }
        break;
      }
    }
  }

  // Validate what the flags produced against the schema, reporting by flag.
  const r = PolicySchema.safeParse(overlay);
  if (!r.success) {
    const lines = formatIssues(r.error.issues, overlay, "", (p) => origin.get(formatPath(p)), PolicySchema);
    throw new PolicyError("E_USAGE", lines.map((l) => `${l} (see \`mcp-j --help\`)`));
  }
  const out: RunArgs = { profiles, overlay: overlay as PolicyInput, command };
  if (policyFile !== undefined) out.policyFile = policyFile;
  return out;
}

/** The run-flags section of `mcp-j --help`. */
export function helpText(): string {
  const rows = FLAGS.map((f) => [f.meta ? `${f.name} ${f.meta}` : f.name, f.help] as const);
  const w = Math.max(...rows.map((r) => r[0].length)) + 2;
  const lines = [
    "Run flags (each maps to a policy field; flags override --policy; repeatable ones accumulate;",
    "`--flag=value` works too):",
    ...rows.map(([a, b]) => `  ${a.padEnd(w)}${b}`),
    "",
    "Everything after `--` is the command and its arguments, passed as is (no shell).",
    "Sizes: 65536, 64K, 512M, 1G (binary units). Durations: 1500 (ms), 1500ms, 2s.",
  ];
  return lines.join("\n") + "\n";
}
