// Policy resolution: layers merged in order, each validated on its own first (so errors name the file
// they come from), then the merge validated and defaults applied.
//
//   1. the policy file's `extends` (profiles and files, recursively, in list order)
//   2. the policy file itself
//   3. --profile NAME flags, in order
//   4. the flags overlay
//
// Merge rule: lists accumulate (duplicates dropped), `env.set` merges by name, scalars from a later
// layer replace earlier ones. Relative paths in a file are relative to that file's directory; in flags,
// to the current directory; `~` is the user's home. Grants come out as { path, dest } with absolute paths.
import { readFile } from "node:fs/promises";
import { dirname, isAbsolute, relative, resolve } from "node:path";
import { PolicySchema, type Policy, type PolicyInput, type ResolvedPolicy } from "./schema.js";
import { PolicyError, formatIssues, formatPath } from "./errors.js";
import { parseConfigText } from "./jsonc.js";
import { builtinProfile, homeOf, isBuiltinProfile, whichSync, BUILTIN_PROFILES, type ProfileContext } from "./profiles/index.js";

export interface ResolveArgs {
  policyFile?: string;
  profiles: string[];
  overlay: PolicyInput;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** The command that will run (optional): the node/python profiles prefer the interpreter it names. */
  command?: string[];
  /** What distinguishes this server beyond its command (see ProfileContext.serverKey). */
  serverKey?: string;
}

interface Ctx extends ProfileContext {
  seen: string[]; // files on the current extends chain (cycle detection)
}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Merges policy inputs: lists accumulate without duplicates, objects merge, scalars are replaced. */
export function mergePolicyInputs(...layers: PolicyInput[]): PolicyInput {
  const merge = (a: unknown, b: unknown): unknown => {
    if (Array.isArray(a) && Array.isArray(b)) {
      const out: unknown[] = [];
      const keys = new Set<string>();
      for (const x of [...a, ...b]) {
        const k = JSON.stringify(x);
        if (!keys.has(k)) {
          keys.add(k);
          out.push(x);
        }
      }
      return out;
    }
    if (isObj(a) && isObj(b)) {
      const out: Obj = { ...a };
      for (const [k, v] of Object.entries(b)) out[k] = k in a ? merge(a[k], v) : v;
      return out;
    }
    return b === undefined ? a : b;
  };
  let acc: unknown = {};
  for (const l of layers) acc = merge(acc, l);
  return acc as PolicyInput;
}

export function expandHome(p: string, env: NodeJS.ProcessEnv): string {
  if (p === "~") return homeOf(env);
  if (p.startsWith("~/")) return homeOf(env) + p.slice(1);
  return p;
}

/** "PATH", "PATH:DEST" (split before the last ":/"), or { path, dest }. */
export function splitGrant(g: string | { path: string; dest?: string | undefined }): { path: string; dest?: string } {
  if (typeof g !== "string") return g.dest === undefined ? { path: g.path } : { path: g.path, dest: g.dest };
  const i = g.lastIndexOf(":/");
  if (i > 0) return { path: g.slice(0, i), dest: g.slice(i + 1) };
  return { path: g };
}

/** Makes a validated raw layer absolute: grants, exec paths, cwd, audit file, secret files. */
function normalizeLayer(raw: Obj, baseDir: string, source: string, ctx: ProfileContext): PolicyInput {
  const out: Obj = structuredClone(raw);
  delete out.extends;
  delete out.$schema;
  const abs = (p: string) => resolve(baseDir, expandHome(p, ctx.env));
  const errors: string[] = [];
  const fs = out.filesystem;
  if (isObj(fs)) {
    for (const key of ["ro", "rw"] as const) {
      const list = fs[key];
      if (!Array.isArray(list)) continue;
      fs[key] = list.map((g, i) => {
        const { path, dest } = splitGrant(g as string);
        const hostPath = abs(path);
        let jailPath = hostPath;
        if (dest !== undefined) {
          if (!isAbsolute(dest)) errors.push(`${[source, formatPath(["filesystem", key, i])].filter(Boolean).join(": ")}: ${JSON.stringify(dest)} is not an absolute path inside the jail`);
          jailPath = resolve("/", dest);
        }
        return { path: hostPath, dest: jailPath };
      });
    }
    if (Array.isArray(fs.exec)) {
      fs.exec = fs.exec.map((p: string, i: number) => {
        if (p.includes("/") || p.startsWith("~")) return abs(p);
        const found = whichSync(p, ctx.env, ctx.cwd);
        if (!found) errors.push(`${[source, formatPath(["filesystem", "exec", i])].filter(Boolean).join(": ")}: ${JSON.stringify(p)} is not found in PATH; give its absolute path`);
        return found ?? p;
      });
    }
    if (typeof fs.cwd === "string") fs.cwd = abs(fs.cwd);
  }
  const audit = out.audit;
  if (isObj(audit) && typeof audit.file === "string") audit.file = abs(audit.file);
  const env = out.env;
  if (isObj(env) && Array.isArray(env.secrets)) {
    env.secrets = env.secrets.map((s: Obj) => (typeof s.fromFile === "string" ? { ...s, fromFile: abs(s.fromFile) } : s));
  }
  if (errors.length) throw new PolicyError("E_POLICY", errors);
  return out as PolicyInput;
}

function displayName(file: string, cwd: string): string {
  const r = relative(cwd, file);
  return r && !r.startsWith("..") && !isAbsolute(r) ? r : file;
}

function validateLayer(data: unknown, source: string): void {
  const r = PolicySchema.safeParse(data);
  if (!r.success) throw new PolicyError("E_POLICY", formatIssues(r.error.issues, data, source, undefined, PolicySchema));
}

/** Reads and parses a policy file (JSONC or YAML) without validating it. */
export async function readPolicyFile(file: string, shown = file): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? "";
    throw new PolicyError("E_POLICY_FILE", `${shown}: cannot read the policy file${code ? ` (${code})` : ""}`);
  }
  const data = parseConfigText(text, shown);
  return data ?? {}; // an empty YAML document is an empty policy
}

async function fileLayers(file: string, ctx: Ctx): Promise<PolicyInput[]> {
  const absFile = resolve(ctx.cwd, expandHome(file, ctx.env));
  const shown = displayName(absFile, ctx.cwd);
  if (ctx.seen.includes(absFile)) {
    throw new PolicyError("E_POLICY", `${shown}: extends cycle: ${[...ctx.seen, absFile].map((f) => displayName(f, ctx.cwd)).join(" → ")}`);
  }
  const data = await readPolicyFile(absFile, shown);
  if (!isObj(data)) throw new PolicyError("E_POLICY", `${shown}: the policy must be an object (a mapping of fields), not ${Array.isArray(data) ? "a list" : typeof data}`);
  validateLayer(data, shown);
  const ext = data.extends === undefined ? [] : Array.isArray(data.extends) ? (data.extends as string[]) : [data.extends as string];
  const layers: PolicyInput[] = [];
  const sub: Ctx = { ...ctx, seen: [...ctx.seen, absFile] };
  for (const [i, name] of ext.entries()) {
    const where = `${shown}: extends${Array.isArray(data.extends) ? `[${i}]` : ""}`;
    layers.push(...(await profileOrFileLayers(name, dirname(absFile), sub, where)));
  }
  layers.push(normalizeLayer(data, dirname(absFile), shown, ctx));
  return layers;
}

function looksLikeFile(name: string): boolean {
  return name.includes("/") || name.startsWith("~") || /\.(ya?ml|jsonc?)$/i.test(name);
}

async function profileOrFileLayers(name: string, baseDir: string, ctx: Ctx, where: string): Promise<PolicyInput[]> {
  if (looksLikeFile(name)) return fileLayers(resolve(baseDir, expandHome(name, ctx.env)), ctx);
  if (!isBuiltinProfile(name)) {
    throw new PolicyError("E_POLICY", `${where}: unknown profile ${JSON.stringify(name)} (built-in: ${BUILTIN_PROFILES.join(", ")}; a file needs a path such as ./${name}.yaml)`);
  }
  const layer = await builtinProfile(name, ctx);
  validateLayer(layer, `profile ${name}`);
  return [layer];
}

/**
 * The effective policy: file (+extends, +profiles) then the overlay, validated, defaults applied.
 * Throws PolicyError (E_POLICY_FILE for unreadable/unparsable files, E_POLICY for invalid content,
 * E_PROFILE when a profile cannot be computed on this machine).
 */
export async function resolvePolicy(args: ResolveArgs): Promise<ResolvedPolicy> {
  const ctx: Ctx = { cwd: args.cwd ?? process.cwd(), env: args.env ?? process.env, seen: [] };
  if (args.command !== undefined) ctx.command = args.command;
  if (args.serverKey !== undefined) ctx.serverKey = args.serverKey;
  const layers: PolicyInput[] = [];
  if (args.policyFile !== undefined) layers.push(...(await fileLayers(args.policyFile, ctx)));
  for (const p of args.profiles) layers.push(...(await profileOrFileLayers(p, ctx.cwd, ctx, `--profile ${p}`)));
  validateLayer(args.overlay, "command line");
  // An overlay may carry `extends` too (an inline policy from a servers config): paths against cwd.
  const ext = args.overlay.extends === undefined ? [] : Array.isArray(args.overlay.extends) ? args.overlay.extends : [args.overlay.extends];
  for (const name of ext) layers.push(...(await profileOrFileLayers(name, ctx.cwd, ctx, "extends")));
  layers.push(normalizeLayer(args.overlay as Obj, ctx.cwd, "command line", ctx));
  const merged = mergePolicyInputs(...layers);
  const r = PolicySchema.safeParse(merged);
  if (!r.success) throw new PolicyError("E_POLICY", formatIssues(r.error.issues, merged, "effective policy", undefined, PolicySchema));
  return r.data as ResolvedPolicy;
}

/** Validates a policy file on its own (no profiles computed): the `mcp-j policy check` primitive. */
export async function checkPolicyFile(file: string, opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<ResolvedPolicy> {
  return resolvePolicy({ policyFile: file, profiles: [], overlay: {}, cwd: opts.cwd ?? process.cwd(), env: opts.env ?? process.env });
}

/**
 * Reads the values of `env.secrets` (from files or from mcp-j's environment). The caller sets them in
 * the jail's environment and hands the values to the audit writer's redaction list.
 */
export async function resolveSecrets(policy: Policy, env: NodeJS.ProcessEnv = process.env): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const [i, s] of policy.env.secrets.entries()) {
    if (s.fromEnv !== undefined) {
      const v = env[s.fromEnv];
      if (v === undefined) throw new PolicyError("E_POLICY", `env.secrets[${i}] (${s.name}): environment variable ${s.fromEnv} is not set`);
      out[s.name] = v;
    } else if (s.fromFile !== undefined) {
      try {
        out[s.name] = (await readFile(s.fromFile, "utf8")).replace(/\r?\n$/, "");
      } catch (e) {
        throw new PolicyError("E_POLICY", `env.secrets[${i}] (${s.name}): cannot read ${s.fromFile} (${(e as NodeJS.ErrnoException).code ?? "error"})`);
      }
    }
  }
  return out;
}
