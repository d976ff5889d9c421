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
// to the current directory; `~` is the user's home. Grants come out as { path, dest?, from } (normalizeGrant).
import { readFile } from "node:fs/promises";
import { dirname, isAbsolute, relative, resolve } from "node:path";
import { PolicySchema, ResolvedPolicySchema, type Grant, type Policy, type PolicyInput, type ResolvedGrant, type ResolvedPolicy } from "./schema.js";
import { PolicyError, formatIssues, formatPath } from "./errors.js";
import { FLAGS } from "./flags.js";
import { parseConfigText } from "./jsonc.js";
import { traceMark } from "../trace.js";
import { builtinProfile, homeOf, isBuiltinProfile, whichSync, BUILTIN_PROFILES, type ProfileContext } from "./profiles/index.js";
import { execIsPath, mapPathFields, pathLikeDeny, refIsFile, type FieldAt, type PathKind } from "./paths.js";

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

/**
 * The one place a grant entry is taken apart: "PATH", "PATH:DEST", { path, dest } (or a grant this
 * function already made, which comes back the same) → the absolute host path (relative to baseDir,
 * `~` expanded), the jail path only when one was named (the jail puts the grant at its real path
 * otherwise, see jail/grants.ts), and where it came from.
 */
export function normalizeGrant(g: Grant | ResolvedGrant, baseDir: string, env: NodeJS.ProcessEnv, from: string): ResolvedGrant {
  const { path, dest } = splitGrant(g);
  const out: ResolvedGrant = { path: resolve(baseDir, expandHome(path, env)), from: typeof g !== "string" && "from" in g ? g.from : from };
  if (dest !== undefined) out.dest = isAbsolute(dest) ? resolve("/", dest) : dest;
  return out;
}

/**
 * A deny entry: "./x", "../x" and "~/x" are paths, made absolute like grants (relative to baseDir:
 * the policy file's directory, or the current directory for flags); absolute globs stay as they
 * are; other relative globs (".env", "**\/secrets/*") match at any depth and stay as written.
 */
export function normalizeDeny(glob: string, baseDir: string, env: NodeJS.ProcessEnv): string {
  return pathLikeDeny(glob) ? resolve(baseDir, expandHome(glob, env)) : glob;
}

/** How absolutizePaths maps one value of a path field of some kind; `at` says where it is. */
export type PathMapper = (value: unknown, at: FieldAt) => unknown;

/**
 * A copy of a raw layer with the value of every path field (paths.ts: POLICY_PATH_FIELDS) made
 * absolute against baseDir (`~` expanded), what is not a path left as written: a deny glob that is
 * not ./x, ../x or ~/x, an exec or extends entry that is a name. A grant keeps its DEST when it has
 * one. `how` replaces the mapping of a kind.
 */
export function absolutizePaths(raw: Obj, baseDir: string, env: NodeJS.ProcessEnv, how: Partial<Record<PathKind, PathMapper>> = {}): Obj {
  const out: Obj = structuredClone(raw);
  const abs = (p: string) => resolve(baseDir, expandHome(p, env));
  const byKind: Record<PathKind, PathMapper> = {
    path: (v) => abs(v as string),
    grant: (g) => {
      const { path, dest } = splitGrant(g as Grant);
      return dest === undefined ? { path: abs(path) } : { path: abs(path), dest };
    },
    deny: (d) => normalizeDeny(d as string, baseDir, env),
    exec: (p) => (execIsPath(p as string) ? abs(p as string) : p),
    ref: (r) => (refIsFile(r as string) ? abs(r as string) : r),
    ...how,
  };
  mapPathFields(out, (v, kind, at) => byKind[kind](v, at));
  return out;
}

/** A grant of a raw layer, normalized. `flags`: the layer is the command line, where a string
 * entry is what a --ro/--rw flag said. */
function layerGrant(g: Grant, at: FieldAt, baseDir: string, source: string, ctx: ProfileContext, flags: boolean, errors: string[]): ResolvedGrant {
  const field = [source, formatPath(at)].filter(Boolean).join(": ");
  const r = normalizeGrant(g, baseDir, ctx.env, flags && typeof g === "string" ? `--${at[1] as string} ${g}` : field);
  if (r.dest !== undefined && !isAbsolute(r.dest)) errors.push(`${r.from}: ${JSON.stringify(r.dest)} is not an absolute path inside the jail`);
  return r;
}

/** Makes a validated raw layer absolute (absolutizePaths), its grants resolved grants, its exec
 * names the programs PATH finds. */
function normalizeLayer(raw: Obj, baseDir: string, source: string, ctx: ProfileContext, flags = false): PolicyInput {
  const layer: Obj = { ...raw };
  delete layer.extends; // the caller resolved them into layers of their own
  delete layer.$schema;
  const errors: string[] = [];
  const out = absolutizePaths(layer, baseDir, ctx.env, {
    grant: (g, at) => layerGrant(g as Grant, at, baseDir, flags ? "" : source, ctx, flags, errors),
    exec: (p, at) => {
      if (execIsPath(p as string)) return resolve(baseDir, expandHome(p as string, ctx.env));
      const found = whichSync(p as string, ctx.env, ctx.cwd);
      if (!found) errors.push(`${[source, formatPath(at)].filter(Boolean).join(": ")}: ${JSON.stringify(p)} is not found in PATH; give its absolute path`);
      return found ?? p;
    },
  });
  if (errors.length) throw new PolicyError("E_POLICY", errors);
  return out as PolicyInput;
}

/** A profile's layer: its paths are absolute already; its grants get their origin. */
function profileLayer(layer: PolicyInput, name: string, ctx: ProfileContext): PolicyInput {
  const out = structuredClone(layer) as Obj;
  const fs = out.filesystem;
  if (isObj(fs)) {
    const errors: string[] = [];
    for (const key of ["ro", "rw"] as const) {
      const list = fs[key];
      if (Array.isArray(list)) fs[key] = list.map((g: Grant, i: number) => layerGrant(g, ["filesystem", key, i], "/", `profile ${name}`, ctx, false, errors));
    }
    if (errors.length) throw new PolicyError("E_PROFILE", errors);
  }
  return out as PolicyInput;
}

/** The same grant named twice (by several layers) is one grant: the first one named says where it came from. */
function dedupeGrants(p: PolicyInput): void {
  const fs = p.filesystem as Obj | undefined;
  if (!isObj(fs)) return;
  for (const key of ["ro", "rw"] as const) {
    const list = fs[key];
    if (!Array.isArray(list)) continue;
    const seen = new Set<string>();
    fs[key] = (list as ResolvedGrant[]).filter((g) => {
      const k = JSON.stringify([g.path, g.dest]);
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    });
  }
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

async function fileLayers(file: string, ctx: Ctx): Promise<PolicyLayer[]> {
  const absFile = resolve(ctx.cwd, expandHome(file, ctx.env));
  const shown = displayName(absFile, ctx.cwd);
  if (ctx.seen.includes(absFile)) {
    throw new PolicyError("E_POLICY", `${shown}: extends cycle: ${[...ctx.seen, absFile].map((f) => displayName(f, ctx.cwd)).join(" → ")}`);
  }
  const data = await readPolicyFile(absFile, shown);
  if (!isObj(data)) throw new PolicyError("E_POLICY", `${shown}: the policy must be an object (a mapping of fields), not ${Array.isArray(data) ? "a list" : typeof data}`);
  validateLayer(data, shown);
  const ext = data.extends === undefined ? [] : Array.isArray(data.extends) ? (data.extends as string[]) : [data.extends as string];
  const layers: PolicyLayer[] = [];
  const sub: Ctx = { ...ctx, seen: [...ctx.seen, absFile] };
  for (const [i, name] of ext.entries()) {
    const where = `${shown}: extends${Array.isArray(data.extends) ? `[${i}]` : ""}`;
    layers.push(...(await profileOrFileLayers(name, dirname(absFile), sub, where)));
  }
  layers.push({ source: shown, file: absFile, commandLine: false, input: normalizeLayer(data, dirname(absFile), shown, ctx) });
  return layers;
}

async function profileOrFileLayers(name: string, baseDir: string, ctx: Ctx, where: string): Promise<PolicyLayer[]> {
  if (refIsFile(name)) return fileLayers(resolve(baseDir, expandHome(name, ctx.env)), ctx);
  if (!isBuiltinProfile(name)) {
    throw new PolicyError("E_POLICY", `${where}: unknown profile ${JSON.stringify(name)} (built-in: ${BUILTIN_PROFILES.join(", ")}; a file needs a path such as ./${name}.yaml)`);
  }
  traceMark("policy.profile_start", `name=${name}`);
  const layer = await builtinProfile(name, ctx);
  traceMark("policy.profile_done", `name=${name}`);
  validateLayer(layer, `profile ${name}`);
  return [{ source: `profile ${name}`, commandLine: false, input: profileLayer(layer, name, ctx) }];
}

/**
 * The effective policy: file (+extends, +profiles) then the overlay, validated, defaults applied.
 * Throws PolicyError (E_POLICY_FILE for unreadable/unparsable files, E_POLICY for invalid content,
 * E_PROFILE when a profile cannot be computed on this machine).
 */
export async function resolvePolicyLayers(args: ResolveArgs): Promise<{ policy: ResolvedPolicy; layers: PolicyLayer[] }> {
  const ctx: Ctx = { cwd: args.cwd ?? process.cwd(), env: args.env ?? process.env, seen: [] };
  if (args.command !== undefined) ctx.command = args.command;
  if (args.serverKey !== undefined) ctx.serverKey = args.serverKey;
  const layers: PolicyLayer[] = [];
  if (args.policyFile !== undefined) layers.push(...(await fileLayers(args.policyFile, ctx)));
  for (const p of args.profiles) layers.push(...(await profileOrFileLayers(p, ctx.cwd, ctx, `--profile ${p}`)));
  validateLayer(args.overlay, "command line");
  // An overlay may carry `extends` too (an inline policy from a servers config): paths against cwd.
  const ext = args.overlay.extends === undefined ? [] : Array.isArray(args.overlay.extends) ? args.overlay.extends : [args.overlay.extends];
  for (const name of ext) layers.push(...(await profileOrFileLayers(name, ctx.cwd, ctx, "extends")));
  layers.push({ source: "command line", commandLine: true, input: normalizeLayer(args.overlay as Obj, ctx.cwd, "command line", ctx, true) });
  const merged = mergePolicyInputs(...layers.map((l) => l.input));
  dedupeGrants(merged);
  const r = ResolvedPolicySchema.safeParse(merged);
  if (!r.success) throw new PolicyError("E_POLICY", formatIssues(r.error.issues, merged, "effective policy", undefined, ResolvedPolicySchema));
  return { policy: r.data, layers };
}

/** The effective policy (resolvePolicyLayers without the layers). */
export async function resolvePolicy(args: ResolveArgs): Promise<ResolvedPolicy> {
  return (await resolvePolicyLayers(args)).policy;
}

/** A layer of the resolution, normalized, and what it is called in messages. */
export interface PolicyLayer {
  /** "policy.yaml", "profile node", "command line". */
  source: string;
  /** The policy file it was read from (absolute). */
  file?: string;
  /** The flags' layer: its values are named by flag. */
  commandLine: boolean;
  input: PolicyInput;
}

/**
 * Where an entry of a list field of the effective policy came from: the first layer that has it,
 * as "policy.yaml: filesystem.exec[2]" or, from the command line, "--allow-exec /usr/bin/git".
 */
export function originOf(layers: readonly PolicyLayer[], field: readonly string[], match: (v: unknown) => boolean): string {
  for (const l of layers) {
    let cur: unknown = l.input;
    for (const k of field) cur = isObj(cur) ? cur[k] : undefined;
    if (!Array.isArray(cur)) continue;
    const i = cur.findIndex(match);
    if (i < 0) continue;
    const flag = l.commandLine ? FLAGS.find((f) => f.field.join(".") === field.join("."))?.name : undefined;
    if (flag !== undefined && typeof cur[i] === "string") return `${flag} ${cur[i] as string}`;
    return [l.commandLine ? "" : l.source, formatPath([...field, i])].filter(Boolean).join(": ");
  }
  return formatPath(field);
}
