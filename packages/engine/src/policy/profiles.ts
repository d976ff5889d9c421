// Built-in profiles: policy layers computed on this machine at resolve time, so they grant exactly the
// runtime that will run (no hard-coded prefixes, no hard-coded registry). Users extend them with
// `extends: node` in a policy file or `--profile node` on the command line.
//
//   node    the Node runtime readable and executable: the real path of the `node` that the command
//           names (or that PATH finds, else the running node), its prefix (ro, when outside /usr,
//           which the jail mounts anyway: nvm, volta, /opt/node...), exec of the binary.
//   python  the interpreter the command names (else `python3` in PATH), asked for its layout by
//           running `PY -c 'import sys, json; ...'` (the interpreter only, with a 5 s timeout, never
//           the server's code): sys.prefix, sys.base_prefix, exec prefixes and sys.executable. That
//           covers Debian (/usr/lib/python3.X, already under /usr), pyenv (~/.pyenv/versions/X, also
//           through its shims), and venvs (the venv's prefix plus its base interpreter's). If the
//           interpreter cannot be run, path rules apply: PREFIX/bin/pythonX → PREFIX, and a
//           PREFIX/pyvenv.cfg's `home =` names the base prefix.
//   npx     node + npm's own scripts and /bin/sh (npm exec runs package bins through sh), a
//           jail-private npm cache ($XDG_CACHE_HOME/mcp-j/npm, created 0700 (owned by 65534 when
//           mcp-j runs as root, since that is who the jail is then), mounted read-write at
//           $HOME/.npm in the jail, npm_config_cache pointing there), and egress to the registry that
//           `npm config get registry` names for this user and directory (also passed in as
//           npm_config_registry, since the user's .npmrc is not visible in the jail).
import { fileURLToPath } from "node:url";
import { execFile } from "node:child_process";
import { chownSync, existsSync, mkdirSync, readFileSync, realpathSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { basename, delimiter, dirname, isAbsolute, join, resolve } from "node:path";
import { promisify } from "node:util";
import type { PolicyInput } from "./schema.js";
import { PolicyError } from "./errors.js";

const run = promisify(execFile);

/** HOME inside the jail (issue #2: HOME=/tmp). */
export const JAIL_HOME = "/tmp";
/** Host uid/gid the jail's 65534 maps to when mcp-j runs as root. */
const JAIL_ROOT_MAPPED_UID = 65534;

export interface ProfileContext {
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** The command that will run, when known: profiles prefer the interpreter it names. */
  command?: string[];
}

export const BUILTIN_PROFILES = ["node", "python", "npx"] as const;
export type BuiltinProfile = (typeof BUILTIN_PROFILES)[number];

export function isBuiltinProfile(name: string): name is BuiltinProfile {
  return (BUILTIN_PROFILES as readonly string[]).includes(name);
}

export function homeOf(env: NodeJS.ProcessEnv): string {
  return env.HOME && isAbsolute(env.HOME) ? env.HOME : homedir();
}

/** `which`: the first executable regular file named `name` in PATH (a name with a slash is resolved against cwd). */
export function whichSync(name: string, env: NodeJS.ProcessEnv, cwd: string): string | undefined {
  if (name.includes("/")) {
    const p = resolve(cwd, name);
    return isExecutableFile(p) ? p : undefined;
  }
  for (const dir of (env.PATH ?? "/usr/local/bin:/usr/bin:/bin").split(delimiter)) {
    if (!dir) continue;
    const p = resolve(cwd, dir, name);
    if (isExecutableFile(p)) return p;
  }
  return undefined;
}

function isExecutableFile(p: string): boolean {
  try {
    const st = statSync(p);
    return st.isFile() && (st.mode & 0o111) !== 0;
  } catch {
    return false;
  }
}

function realOr(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    return p;
  }
}

/** Paths the jail mounts anyway (DESIGN.md: /usr and the usrmerge links): no grant needed. */
function underSystem(p: string): boolean {
  return p === "/usr" || p.startsWith("/usr/") || /^\/(bin|sbin|lib|lib64)(\/|$)/.test(p);
}

function uniq<T>(xs: T[]): T[] {
  return [...new Set(xs)];
}

function roGrants(paths: string[]): { path: string; dest: string }[] {
  return uniq(paths.filter((p) => p && p !== "/" && !underSystem(p) && existsSync(p))).map((p) => ({ path: p, dest: p }));
}

function commandNamed(ctx: ProfileContext, re: RegExp): string | undefined {
  const c = ctx.command?.[0];
  return c !== undefined && re.test(basename(c)) ? c : undefined;
}

// ---------------------------------------------------------------- node

export function nodeProfile(ctx: ProfileContext): PolicyInput {
  const named = commandNamed(ctx, /^(node|nodejs)$/);
  const found = (named && whichSync(named, ctx.env, ctx.cwd)) ?? whichSync("node", ctx.env, ctx.cwd) ?? process.execPath;
  const real = realOr(found);
  const prefix = dirname(dirname(real)); // PREFIX/bin/node
  return {
    filesystem: {
      ro: roGrants([prefix]),
      exec: uniq([found, real]),
    },
  };
}

// ---------------------------------------------------------------- python

interface PyLayout {
  executable: string;
  prefixes: string[];
}

const PY_PROBE =
  "import sys, json; print(json.dumps({'executable': sys.executable, 'prefixes': [sys.prefix, sys.base_prefix, sys.exec_prefix, getattr(sys, 'base_exec_prefix', sys.exec_prefix)]}))";

async function probePython(interp: string, ctx: ProfileContext): Promise<PyLayout | undefined> {
  try {
    const { stdout } = await run(interp, ["-c", PY_PROBE], { env: ctx.env, cwd: ctx.cwd, timeout: 5000, maxBuffer: 1 << 16 });
    const j = JSON.parse(stdout.trim().split("\n").pop() ?? "") as PyLayout;
    if (typeof j.executable !== "string" || !Array.isArray(j.prefixes)) return undefined;
    return j;
  } catch {
    return undefined;
  }
}

/** Path rules used when the interpreter cannot be asked: PREFIX/bin/python → PREFIX; venv via pyvenv.cfg. */
export function pythonLayoutByPath(interp: string): PyLayout {
  const prefixes: string[] = [];
  const binDir = dirname(interp);
  const prefix = dirname(binDir);
  prefixes.push(prefix);
  const cfg = join(prefix, "pyvenv.cfg");
  if (existsSync(cfg)) {
    const home = /^\s*home\s*=\s*(.+?)\s*$/m.exec(readFileSync(cfg, "utf8"))?.[1];
    if (home) prefixes.push(dirname(realOr(home)));
  }
  const real = realOr(interp);
  prefixes.push(dirname(dirname(real)));
  return { executable: interp, prefixes: uniq(prefixes) };
}

export async function pythonProfile(ctx: ProfileContext): Promise<PolicyInput> {
  const named = commandNamed(ctx, /^python[0-9.]*$/);
  const venv = ctx.env.VIRTUAL_ENV ? join(ctx.env.VIRTUAL_ENV, "bin", "python3") : undefined;
  const interp =
    (named && whichSync(named, ctx.env, ctx.cwd)) ??
    (venv && isExecutableFile(venv) ? venv : undefined) ??
    whichSync("python3", ctx.env, ctx.cwd);
  if (!interp) throw new PolicyError("E_PROFILE", `profile python: no python3 found in PATH (${ctx.env.PATH ?? ""}); name the interpreter by its absolute path`);
  const layout = (await probePython(interp, ctx)) ?? pythonLayoutByPath(interp);
  const exe = layout.executable || interp;
  // A pyenv shim is a bash script: grant the real interpreter it leads to, not the shim machinery.
  const isShim = /\/shims\/[^/]+$/.test(interp);
  const exec = uniq([...(isShim ? [] : [interp, realOr(interp)]), exe, realOr(exe)].filter((p) => p && isAbsolute(p)));
  return {
    filesystem: { ro: roGrants(layout.prefixes.map(realOr).concat(layout.prefixes)), exec },
    env: { set: { PYTHONDONTWRITEBYTECODE: "1" } },
  };
}

// ---------------------------------------------------------------- npx

/** `https://registry.npmjs.org/` → `registry.npmjs.org`; `http://r.example:4873/` → `r.example:4873`. */
export function registryHost(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new PolicyError("E_PROFILE", `profile npx: the npm registry ${JSON.stringify(url)} is not a URL`);
  }
  if (u.protocol !== "https:" && u.protocol !== "http:") throw new PolicyError("E_PROFILE", `profile npx: the npm registry ${JSON.stringify(url)} is not http(s)`);
  return u.port ? `${u.hostname}:${u.port}` : u.hostname;
}

export async function npmRegistry(ctx: ProfileContext): Promise<string> {
  const npm = whichSync("npm", ctx.env, ctx.cwd);
  if (!npm) throw new PolicyError("E_PROFILE", "profile npx: npm not found in PATH, so its registry cannot be read");
  try {
    // --workspaces=false: inside an npm workspace `npm config get` refuses with ENOWORKSPACES.
    const { stdout } = await run(npm, ["config", "get", "registry", "--workspaces=false", "--loglevel=error"], {
      env: { ...ctx.env, npm_config_update_notifier: "false" },
      cwd: ctx.cwd,
      timeout: 15000,
      maxBuffer: 1 << 16,
    });
    const url = stdout.trim().split("\n").pop()?.trim() ?? "";
    if (!url || url === "undefined") throw new Error("empty answer");
    return url;
  } catch (e) {
    if (e instanceof PolicyError) throw e;
    throw new PolicyError("E_PROFILE", `profile npx: \`npm config get registry\` failed: ${e instanceof Error ? e.message.split("\n")[0] : String(e)}`);
  }
}

/** The npm script-shell of the npx profile, shipped in this package's assets/. */
const NPX_SCRIPT_SHELL = fileURLToPath(new URL("../../../assets/npx-script-shell.sh", import.meta.url));

/** The jail-private npm cache on the host: $XDG_CACHE_HOME/mcp-j/npm (default ~/.cache/mcp-j/npm). */
export function npxCacheDir(env: NodeJS.ProcessEnv): string {
  const base = env.XDG_CACHE_HOME && isAbsolute(env.XDG_CACHE_HOME) ? env.XDG_CACHE_HOME : join(homeOf(env), ".cache");
  return join(base, "mcp-j", "npm");
}

export async function npxProfile(ctx: ProfileContext): Promise<PolicyInput> {
  const registry = await npmRegistry(ctx);
  const cache = npxCacheDir(ctx.env);
  mkdirSync(cache, { recursive: true, mode: 0o700 });
  // As root, the jail runs as the host's nobody (65534, never root: DESIGN.md, Identity): the cache must
  // belong to it, or npm inside the jail cannot write there. Unprivileged, the jail's uid maps to ours.
  if (process.getuid?.() === 0) {
    try {
      if (statSync(cache).uid !== JAIL_ROOT_MAPPED_UID) chownSync(cache, JAIL_ROOT_MAPPED_UID, JAIL_ROOT_MAPPED_UID);
    } catch {
      /* reported by npm inside the jail if it matters */
    }
  }
  const nodeCtx: ProfileContext = { ...ctx, command: ["node"] };
  const node = nodeProfile(nodeCtx);
  const npmExec: string[] = [];
  for (const n of ["npx", "npm"]) {
    const p = whichSync(n, ctx.env, ctx.cwd);
    if (p) npmExec.push(p, realOr(p));
  }
  const sh = ["/bin/sh", "/usr/bin/sh"].find((p) => existsSync(p));
  if (sh) npmExec.push(sh, realOr(sh));
  const jailCache = `${JAIL_HOME}/.npm`;
  // npm runs downloaded binaries through its script-shell; ours starts JavaScript ones with node,
  // since nothing in the writable cache can be executed (see assets/npx-script-shell.sh).
  const scriptShell = NPX_SCRIPT_SHELL;
  return {
    filesystem: {
      ro: [
        ...(node.filesystem?.ro ?? []),
        ...roGrants(npmExec.map((p) => dirname(dirname(p))).filter((p) => !p.startsWith("/usr"))),
        { path: scriptShell, dest: scriptShell },
      ],
      rw: [{ path: cache, dest: jailCache }],
      exec: uniq([...(node.filesystem?.exec ?? []), ...npmExec, scriptShell]),
    },
    network: { allow: [registryHost(registry)] },
    env: {
      set: {
        npm_config_cache: jailCache,
        npm_config_script_shell: scriptShell,
        npm_config_registry: registry,
        npm_config_update_notifier: "false",
        npm_config_fund: "false",
        npm_config_audit: "false",
      },
    },
  };
}

export async function builtinProfile(name: BuiltinProfile, ctx: ProfileContext): Promise<PolicyInput> {
  switch (name) {
    case "node":
      return nodeProfile(ctx);
    case "python":
      return pythonProfile(ctx);
    case "npx":
      return npxProfile(ctx);
  }
}
