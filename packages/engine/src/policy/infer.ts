// The default that does the right thing (issue 12 item 3): with no --profile, the profile comes from
// the command, and a script or program outside every grant gets a read-only grant of what it needs.
// `--profile none` keeps the strict start: nothing inferred, nothing added.
//
//   node / nodejs            → node     python, python3.X → python     npx → npx
//   uv / uvx                 → python, and the uv binary (read-only, executable)
//   a script `#!... node`    → node     a script `#!... python*` → python
//
// What a command needs, added after the policy is resolved so that nothing already granted (by
// --ro, --rw or a policy file) is granted again or made read-only under a writable grant:
//
//   node FILE        FILE's package root (the nearest directory with a package.json) and every
//                    node_modules directory Node resolves from (FILE's directory up to /), read-only
//   python FILE      FILE's directory (Python puts it first on sys.path), read-only
//   python -m MOD    the start directory when MOD is there (python puts it first on sys.path)
//   PROGRAM          the program itself, read-only (a script: as its interpreter's FILE above)
//
// and the system programs the server runs (a git server's git, a browser its env names), on the
// exec allowlist by the rules of programs.ts.
//
// A directory that is too wide to grant (/, the home directory or its ancestors) is replaced by
// the file alone. When a runtime profile applies, the command's interpreter name becomes the host
// path the profile granted, so the jail runs the interpreter the command names on this machine
// (a pyenv shim's python3 is pyenv's interpreter, not /usr/bin/python3); a program found in mcp-j's
// PATH outside /usr is started by its real path (the jail's PATH is /usr's); and a relative FILE
// becomes absolute when the jail will not see the start directory.
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { basename, dirname, isAbsolute, join, resolve } from "node:path";
import { resolvePolicyLayers } from "./resolve.js";
import type { PolicyInput, ResolvedGrant, ResolvedPolicy } from "./schema.js";
import { isDir, isExecutableFile, readHead, realOr, tooWide, underSystem, uniq, whichSync, within, type ProfileContext } from "./profiles/common.js";
import { isNodeName, nodeRuntime } from "./profiles/node.js";
import { findPython, isPythonName } from "./profiles/python.js";
import { inferredPrograms } from "./programs.js";
import { policyVariables } from "./variables.js";

export type Runtime = "node" | "python" | "npx";

export interface RunRequest {
  command: string[];
  /** --profile flags as given (`none` included). */
  profiles: string[];
  policyFile?: string;
  overlay: PolicyInput;
  cwd: string;
  env: NodeJS.ProcessEnv;
}

export interface ResolvedRun {
  policy: ResolvedPolicy;
  /** The command to start (the interpreter's host path in place of its name, see above). */
  command: string[];
  /** One line for stderr saying what was inferred, or null when nothing was. */
  note: string | null;
  /** The policy files read (absolute): the one given and those it extends. */
  files: string[];
}

/** The first line of a script, when it is one: `#!/usr/bin/env node` → ["/usr/bin/env", "node"]. */
function shebang(file: string): string[] {
  const head = readHead(file, 256);
  if (!head.startsWith("#!")) return [];
  return head.slice(2).split("\n")[0]!.trim().split(/\s+/).filter(Boolean);
}

/** The runtime a command needs, from its name or, for a script, its shebang's interpreter. */
export function runtimeOf(command: string[], ctx: ProfileContext): Runtime | "uv" | undefined {
  const c = command[0];
  if (c === undefined) return undefined;
  const name = basename(c);
  if (isNodeName(name)) return "node";
  if (isPythonName(name)) return "python";
  if (name === "npx") return "npx";
  if (name === "uv" || name === "uvx") return "uv";
  const file = whichSync(c, ctx.env, ctx.cwd);
  if (file === undefined) return undefined;
  const sb = shebang(file);
  const interp = sb[0] !== undefined && basename(sb[0]) === "env" ? sb.find((w, i) => i > 0 && !w.startsWith("-")) : sb[0];
  if (interp === undefined) return undefined;
  if (isNodeName(interp)) return "node";
  if (isPythonName(interp)) return "python";
  return undefined;
}

const NODE_VALUE_FLAGS = new Set(["-r", "--require", "--import", "--loader", "--experimental-loader", "-C", "--conditions", "--input-type", "--title"]);
const NODE_NO_FILE = new Set(["-e", "--eval", "-p", "--print", "-", "-i", "--interactive", "--test", "-v", "--version", "-h", "--help"]);
const PY_VALUE_FLAGS = new Set(["-X", "-W", "--check-hash-based-pycs"]);

/** Index in `args` of the script an interpreter runs, or -1 (`-e`, `-c`, a REPL). */
function scriptIndex(args: string[], values: Set<string>, noFile: Set<string>): number {
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (noFile.has(a)) return -1;
    if (values.has(a)) {
      i++;
      continue;
    }
    if (a === "--") return i + 1 < args.length ? i + 1 : -1;
    if (!a.startsWith("-")) return i;
  }
  return -1;
}

interface Need {
  path: string;
  why: string;
}

/** The nearest directory from `dir` up that holds a package.json. */
/** The nearest directory with a package.json, from `dir` up; never above a writable grant that
 * holds `dir` (the jail may have removed the package.json that would have stopped the walk). */
function packageRoot(dir: string, writable: readonly string[]): string | undefined {
  for (let d = dir; ; d = dirname(d)) {
    if (existsSync(join(d, "package.json"))) return d;
    if (dirname(d) === d || writable.includes(d)) return undefined;
  }
}

function nodeScriptNeeds(file: string, ctx: ProfileContext): Need[] {
  const real = realOr(file);
  const root = packageRoot(dirname(real), ctx.writable ?? []);
  const needs: Need[] = root !== undefined && !tooWide(root, ctx.env) ? [{ path: root, why: "package root" }] : [{ path: real, why: "script" }];
  for (let d = dirname(real); ; d = dirname(d)) {
    const nm = join(d, "node_modules");
    // As Node spells it: a node_modules that is a symlink (a monorepo's, pnpm's) is granted at its
    // real path with the spelling as a link to it, so what Node looks up exists in the jail.
    if (isDir(nm)) needs.push({ path: nm, why: "node_modules" });
    if (dirname(d) === d) break;
  }
  return needs;
}

function pythonScriptNeeds(file: string, ctx: ProfileContext): Need[] {
  const real = realOr(file);
  const dir = dirname(real);
  return [tooWide(dir, ctx.env) ? { path: real, why: "script" } : { path: dir, why: "script directory" }];
}

/** What the command needs to be visible in the jail, by the rules at the top of this file. */
export function commandNeeds(command: string[], runtime: Runtime | "uv" | undefined, ctx: ProfileContext): { needs: Need[]; scriptArg: number } {
  const [c, ...args] = command as [string, ...string[]];
  const script = (values: Set<string>, noFile: Set<string>) => {
    const i = scriptIndex(args, values, noFile);
    const file = i >= 0 ? resolve(ctx.cwd, args[i]!) : undefined;
    return file !== undefined && existsSync(file) ? { i: i + 1, file } : undefined;
  };
  if (isNodeName(basename(c))) {
    const s = script(NODE_VALUE_FLAGS, NODE_NO_FILE);
    return s ? { needs: nodeScriptNeeds(s.file, ctx), scriptArg: s.i } : { needs: [], scriptArg: -1 };
  }
  if (isPythonName(basename(c))) {
    const m = args.indexOf("-m");
    const mod = m >= 0 && scriptIndex(args.slice(0, m), PY_VALUE_FLAGS, new Set(["-c"])) < 0 ? args[m + 1] : undefined;
    if (mod !== undefined) {
      const top = mod.split(".")[0]!;
      const here = existsSync(join(ctx.cwd, `${top}.py`)) || isDir(join(ctx.cwd, top));
      return { needs: here && !tooWide(ctx.cwd, ctx.env) ? [{ path: ctx.cwd, why: `start directory (module ${top})` }] : [], scriptArg: -1 };
    }
    const s = script(PY_VALUE_FLAGS, new Set(["-c", "-"]));
    return s ? { needs: pythonScriptNeeds(s.file, ctx), scriptArg: s.i } : { needs: [], scriptArg: -1 };
  }
  if (runtime === "npx") return { needs: [], scriptArg: -1 };
  const file = whichSync(c, ctx.env, ctx.cwd);
  if (file === undefined) return { needs: [], scriptArg: -1 };
  if (runtime === "node") return { needs: nodeScriptNeeds(file, ctx), scriptArg: -1 };
  if (runtime === "python") return { needs: pythonScriptNeeds(file, ctx), scriptArg: -1 };
  return { needs: [{ path: realOr(file), why: runtime === "uv" ? "uv" : "program" }], scriptArg: -1 };
}

function visible(path: string, grants: ResolvedGrant[]): boolean {
  return underSystem(path) || grants.some((g) => within(path, realOr(g.path)));
}

/** A digest of what decides this server's authority besides its command (ProfileContext.serverKey). */
export function serverKey(r: Pick<RunRequest, "cwd" | "policyFile" | "profiles" | "overlay">): string {
  let policyText = "";
  if (r.policyFile !== undefined) {
    try {
      policyText = readFileSync(resolve(r.cwd, r.policyFile), "utf8");
    } catch {
      /* resolvePolicy reports the unreadable file */
    }
  }
  return createHash("sha256")
    .update(JSON.stringify({ cwd: r.cwd, policyFile: r.policyFile ?? null, policyText, profiles: r.profiles, overlay: r.overlay }))
    .digest("hex");
}

/**
 * Everything between the parsed command line and a policy the jail can run: the inferred profiles,
 * the resolved policy, the grants the command needs and the command to start.
 */
export async function resolveRun(r: RunRequest): Promise<ResolvedRun> {
  const strict = r.profiles.includes("none");
  const explicit = r.profiles.filter((p) => p !== "none");
  const ctx: ProfileContext = { cwd: r.cwd, env: r.env, command: r.command };
  const runtime = strict ? undefined : runtimeOf(r.command, ctx);
  const inferred: string[] = [];
  if (!strict && explicit.length === 0 && runtime !== undefined) inferred.push(runtime === "uv" ? "python" : runtime);
  const profiles = [...inferred, ...explicit];

  // The interpreter the command names, as this machine's PATH (and pyenv) find it.
  const command = [...r.command];
  const c = command[0];
  if (!strict && c !== undefined) {
    if (isNodeName(basename(c)) && profiles.some((p) => p === "node" || p === "npx")) command[0] = nodeRuntime(ctx).path;
    else if (isPythonName(basename(c)) && profiles.includes("python")) command[0] = findPython(ctx);
    else if (basename(c) === "npx" && !c.includes("/")) command[0] = whichSync(c, r.env, r.cwd) ?? c;
    else if (!c.includes("/")) {
      // A program found in PATH outside /usr: the jail's PATH does not have its directory, and
      // what gets granted below is its real path.
      const found = whichSync(c, r.env, r.cwd);
      if (found !== undefined && !underSystem(found)) command[0] = realOr(found);
    }
  }

  const key = serverKey(r);
  const resolved = await resolvePolicyLayers({
    profiles,
    overlay: r.overlay,
    cwd: r.cwd,
    env: r.env,
    command,
    serverKey: key,
    ...(r.policyFile !== undefined ? { policyFile: r.policyFile } : {}),
  });
  let policy = resolved.policy;
  const files = resolved.layers.flatMap((l) => (l.file !== undefined ? [l.file] : []));
  if (strict) return { policy, command, note: null, files };

  const writable = policy.filesystem.rw.map((g) => realOr(g.path));
  const { needs, scriptArg } = commandNeeds(command, runtime, { ...ctx, command, writable });
  const grants = [...policy.filesystem.ro, ...policy.filesystem.rw];
  const added: Need[] = [];
  for (const n of needs) {
    if (visible(realOr(n.path), [...grants, ...added.map((a) => ({ path: realOr(a.path), dest: a.path, from: "" }))])) continue;
    added.push(n);
  }
  if (added.length > 0) {
    // No destination: each is mounted at its real path, and a spelling that differs becomes a link.
    const ro = added.map((a) => ({ path: a.path, from: `inferred from the command (${a.why})` }));
    // uvx starts uv, its sibling: both are the command's own programs.
    const exec = runtime === "uv" ? added.filter((a) => a.why === "uv").flatMap((a) => [a.path, join(dirname(a.path), "uv")]).filter(isExecutableFile) : [];
    policy = { ...policy, filesystem: { ...policy.filesystem, ro: [...policy.filesystem.ro, ...ro], exec: uniq([...policy.filesystem.exec, ...exec]) } };
  }
  // The system programs the server runs (programs.ts), beyond those already allowed.
  // The server's variables as jail/environment.ts gives them, but for secrets (never read here).
  const vars = policyVariables(policy, r.env);
  for (const secret of policy.env.secrets) vars.delete(secret.name);
  const serverEnv = Object.fromEntries(vars);
  const programs = inferredPrograms(r.command, runtime, serverEnv, ctx, [...policy.filesystem.ro, ...policy.filesystem.rw]).filter(
    (p) => !policy.filesystem.exec.some((e) => realOr(e) === p.path),
  );
  if (programs.length > 0) policy = { ...policy, filesystem: { ...policy.filesystem, exec: uniq([...policy.filesystem.exec, ...programs.map((p) => p.path)]) } };
  // A relative script path works in the jail only if the jail's cwd is the start directory.
  if (scriptArg > 0 && !isAbsolute(command[scriptArg]!) && !visible(realOr(r.cwd), [...policy.filesystem.ro, ...policy.filesystem.rw]) && policy.filesystem.cwd === undefined) {
    command[scriptArg] = resolve(r.cwd, command[scriptArg]!);
  }

  const parts: string[] = [];
  if (inferred.length > 0) parts.push(`--profile ${inferred.join(" --profile ")}`);
  if (added.length > 0) parts.push(`read-only ${added.map((a) => `${a.path} (${a.why})`).join(", ")}`);
  if (programs.length > 0) parts.push(`exec ${programs.map((p) => `${p.path} (${p.why})`).join(", ")}`);
  const note = parts.length > 0 ? `mcp-j: inferred from the command: ${parts.join("; ")} (--profile none for a strict start)` : null;
  return { policy, command, note, files };
}
