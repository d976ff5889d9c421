// Named servers: `mcp-j run NAME` looks NAME up in a servers config file.
//
// Where: `--config FILE`, else $MCPJ_CONFIG, else $XDG_CONFIG_HOME/mcp-j/servers.{yaml,yml,json}
// (XDG_CONFIG_HOME defaults to ~/.config). Format (YAML or JSON with comments):
//
//   servers:
//     memory:
//       command: npx                      # or [npx, -y, pkg]
//       args: [-y, "@modelcontextprotocol/server-memory"]
//       policy: { extends: npx }          # inline policy, or a file: ./memory.policy.yaml
//     files:
//       command: [node, /opt/fs-server/index.js, /srv/data]
//       env: { LOG_LEVEL: debug }          # shorthand for policy.env.set
//       policy: ./files.yaml
//
// `mcpServers` (the Claude Desktop / Cursor key) is accepted in place of `servers`, so a client
// config can be used directly as --config. Relative paths are relative to the servers file: policy
// files, the command when it has a slash, arguments written ./X or ../X, and every path field of an
// inline policy (paths.ts: grants, deny paths, exec, cwd, audit and pin files, secret files,
// extends), as in a policy file. The inline policy comes back with absolute paths, ready to be merged
// under the command-line overlay: resolvePolicy({ policyFile, profiles, overlay:
// mergePolicyInputs(server.policy ?? {}, flags.overlay) }).
import { existsSync, readFileSync } from "node:fs";
import { dirname, isAbsolute, join, resolve } from "node:path";
import * as z from "zod";
import { PolicySchema, type PolicyInput } from "./schema.js";
import { PolicyError, formatIssues } from "./errors.js";
import { parseConfigText } from "./jsonc.js";
import { homeOf } from "./profiles/index.js";
import { absolutizePaths, expandHome } from "./resolve.js";

export const ServerEntrySchema = z
  .object({
    command: z.union([z.string().min(1), z.array(z.string()).min(1)]),
    args: z.array(z.string()).default([]),
    env: z.record(z.string(), z.string()).optional(),
    cwd: z.string().min(1).optional(),
    policy: z.union([z.string().min(1), z.record(z.string(), z.unknown())]).optional(),
    description: z.string().optional(),
    // tolerated for client-config compatibility, ignored:
    type: z.string().optional(),
    disabled: z.boolean().optional(),
  })
  .passthrough();

/** For "unknown field (known: ...)" messages at servers.NAME.policy paths. */
const WRAPPED = z.object({ servers: z.record(z.string(), z.object({ policy: PolicySchema })) });

export interface NamedServer {
  command: string[];
  policyFile?: string;
  policy?: PolicyInput;
}

export interface NamedServerOptions {
  config?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/** The servers config file that would be used (whether or not it exists), and the candidates tried. */
export function serversConfigPath(opts: NamedServerOptions = {}): { path: string; tried: string[] } {
  const env = opts.env ?? process.env;
  const cwd = opts.cwd ?? process.cwd();
  if (opts.config) return { path: resolve(cwd, expandHome(opts.config, env)), tried: [] };
  if (env.MCPJ_CONFIG) return { path: resolve(cwd, expandHome(env.MCPJ_CONFIG, env)), tried: [] };
  const base = env.XDG_CONFIG_HOME && isAbsolute(env.XDG_CONFIG_HOME) ? env.XDG_CONFIG_HOME : join(homeOf(env), ".config");
  const tried = ["servers.yaml", "servers.yml", "servers.json"].map((f) => join(base, "mcp-j", f));
  return { path: tried.find((p) => existsSync(p)) ?? tried[0]!, tried };
}

function readServers(opts: NamedServerOptions): { file: string; servers: Record<string, unknown> } {
  const { path, tried } = serversConfigPath(opts);
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    const where = tried.length ? `looked in ${tried.join(", ")}` : path;
    throw new PolicyError("E_SERVER", `no servers config (${where}: ${(e as NodeJS.ErrnoException).code ?? "unreadable"}); create one or pass --config FILE`);
  }
  const data = (parseConfigText(text, path) ?? {}) as Record<string, unknown>;
  const servers = (data && typeof data === "object" && (data.servers ?? data.mcpServers)) as Record<string, unknown> | undefined;
  if (!servers || typeof servers !== "object" || Array.isArray(servers)) {
    throw new PolicyError("E_SERVER", `${path}: expected a "servers" mapping of NAME → { command, args, policy }`);
  }
  return { file: path, servers };
}

/** The names defined in the servers config. */
export function listNamedServers(opts: NamedServerOptions = {}): string[] {
  return Object.keys(readServers(opts).servers);
}

/**
 * A relative path in a server's command is relative to the servers file, like every other path in
 * it (the jail's working directory is not the file's): the program when it has a slash
 * (`./bin/server`, `srv/run`), and any argument written `./X` or `../X`.
 */
function fromFileDir(arg: string, index: number, baseDir: string): string {
  if (isAbsolute(arg)) return arg;
  if (index === 0 ? arg.includes("/") : arg.startsWith("./") || arg.startsWith("../")) return resolve(baseDir, arg);
  return arg;
}

/**
 * Looks up a named server. Throws PolicyError("E_SERVER") for a missing config or unknown name, and
 * E_POLICY (pointing at `servers.NAME...`) for an invalid entry or inline policy.
 */
export function loadNamedServer(name: string, opts: NamedServerOptions = {}): NamedServer {
  const env = opts.env ?? process.env;
  const { file, servers } = readServers(opts);
  const shown = file;
  if (!Object.prototype.hasOwnProperty.call(servers, name)) {
    const known = Object.keys(servers);
    throw new PolicyError("E_SERVER", `${shown}: no server named ${JSON.stringify(name)}${known.length ? ` (known: ${known.join(", ")})` : " (the file defines none)"}`);
  }
  const raw = servers[name];
  const r = ServerEntrySchema.safeParse(raw);
  if (!r.success) {
    throw new PolicyError("E_POLICY", formatIssues(r.error.issues.map((i) => ({ ...i, path: ["servers", name, ...i.path] })), { servers }, shown));
  }
  const entry = r.data;
  if (typeof (raw as Record<string, unknown>).url === "string") {
    throw new PolicyError("E_SERVER", `${shown}: servers.${name} is a remote (url) server; mcp-j runs stdio servers only`);
  }
  const baseDir = dirname(file);
  const command = [...(Array.isArray(entry.command) ? entry.command : [entry.command]), ...entry.args].map((a, i) => fromFileDir(a, i, baseDir));
  const out: NamedServer = { command };
  let policy: Record<string, unknown> | undefined;
  if (typeof entry.policy === "string") out.policyFile = resolve(baseDir, expandHome(entry.policy, env));
  else if (entry.policy) {
    const pr = PolicySchema.safeParse(entry.policy);
    if (!pr.success) {
      throw new PolicyError(
        "E_POLICY",
        formatIssues(pr.error.issues.map((i) => ({ ...i, path: ["servers", name, "policy", ...i.path] })), { servers }, shown, undefined, WRAPPED),
      );
    }
    policy = entry.policy;
  }
  if (entry.env || entry.cwd) {
    policy = structuredClone(policy ?? {});
    if (entry.env) {
      const e = ((policy.env ??= {}) as Record<string, unknown>);
      e.set = { ...((e.set as Record<string, string>) ?? {}), ...entry.env };
    }
    if (entry.cwd) ((policy.filesystem ??= {}) as Record<string, unknown>).cwd = entry.cwd;
    const pr = PolicySchema.safeParse(policy);
    if (!pr.success) throw new PolicyError("E_POLICY", formatIssues(pr.error.issues, policy, `${shown}: servers.${name}`));
  }
  // Every path field (paths.ts) is the servers file's, as a policy file's are that file's.
  if (policy) out.policy = absolutizePaths(policy, baseDir, env) as PolicyInput;
  return out;
}
