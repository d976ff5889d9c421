// The python profile: the interpreter the command names, and the directories it reads at start,
// learned by reading files, never by running the interpreter (docs/design.md, rule 1: running it on the
// host processed a venv's .pth files and a json.py in the start directory, unjailed).
//
//   interpreter  the command's python (a path, or a name looked up in mcp-j's PATH), else $VIRTUAL_ENV's,
//                else python3 in PATH. A pyenv shim is followed to the interpreter pyenv would run
//                (pyenv.ts). The jail runs exactly that file: run.ts puts its path in the command.
//   prefix       PREFIX of PREFIX/bin/pythonX.Y (the real path), when PREFIX/lib/pythonX.Y/os.py
//                exists (the landmark Python itself looks for). /usr needs no grant.
//   venv         DIR of DIR/bin/python when DIR/pyvenv.cfg exists: DIR read-only, and the prefix of
//                the base interpreter its `home =` names, under the same landmark rule, so that a
//                venv's pyvenv.cfg (the server's tree) can only add another Python installation.
//
// Inside the jail Python starts with a cleared environment (mcp-j's PYTHONPATH, PYTHONSTARTUP,
// PYTHONHOME never reach it) plus:
//   PYTHONDONTWRITEBYTECODE=1   the grants are read-only; no failed .pyc writes on every import
//   PYTHONNOUSERSITE=1          no user site-packages from the jail's writable HOME (/tmp)
//   PYTHONSAFEPATH is not set: a script imports its sibling modules, as it does outside the jail.
import { existsSync, readdirSync } from "node:fs";
import { basename, join } from "node:path";
import type { PolicyInput } from "../schema.js";
import { PolicyError } from "../errors.js";
import { homeOf, isExecutableFile, prefixOfBin, readHead, realOr, roGrants, tooWide, uniq, whichSync, type ProfileContext } from "./common.js";
import { memoByFiles } from "./runtime-cache.js";
import { pyenvShimRoot, pyenvTarget } from "./pyenv.js";

export function isPythonName(cmd: string): boolean {
  return /^python[0-9.]*$/.test(basename(cmd));
}

export interface PythonRuntime {
  /** The host path the jail executes (a venv's bin/python, or the real interpreter behind a shim). */
  path: string;
  real: string;
  /** Directories (or, for an unrecognised layout, the binary) granted read-only. */
  ro: string[];
}

/** `key = value` lines of a pyvenv.cfg (the venv module's format; no sections, no quoting). */
export function readPyvenvCfg(file: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of readHead(file, 16384).split(/\r?\n/)) {
    const m = /^\s*([A-Za-z0-9_.-]+)\s*=\s*(.*?)\s*$/.exec(line);
    if (m) out[m[1]!.toLowerCase()] = m[2]!;
  }
  return out;
}

/** X.Y from python3.11 / python3.11d, else undefined. */
function versionOfName(file: string): string | undefined {
  return /^python(\d+\.\d+)/.exec(basename(file))?.[1];
}

/**
 * PREFIX for an interpreter at PREFIX/bin/pythonX.Y, when PREFIX/lib/pythonX.Y/os.py exists. The
 * version comes from the file name, else from `version` (pyvenv.cfg), else from the one lib/python*
 * directory that has the landmark.
 */
export function pythonPrefix(real: string, version?: string): string | undefined {
  const prefix = prefixOfBin(real);
  if (prefix === undefined) return undefined;
  const xy = versionOfName(real) ?? (version !== undefined ? /^(\d+\.\d+)/.exec(version)?.[1] : undefined);
  const landmark = (v: string) => existsSync(join(prefix, "lib", `python${v}`, "os.py"));
  if (xy !== undefined) return landmark(xy) ? prefix : undefined;
  let libs: string[] = [];
  try {
    libs = readdirSync(join(prefix, "lib")).filter((d) => /^python\d+\.\d+$/.test(d));
  } catch {
    return undefined;
  }
  const found = libs.filter((d) => landmark(d.slice("python".length)));
  return found.length === 1 ? prefix : undefined;
}

/** The interpreter the command names, with pyenv shims followed. Throws PolicyError when none. */
export function findPython(ctx: ProfileContext, name?: string): string {
  const c = ctx.command?.[0];
  const named = name ?? (c !== undefined && isPythonName(c) ? c : undefined);
  const venv = ctx.env.VIRTUAL_ENV ? join(ctx.env.VIRTUAL_ENV, "bin", "python3") : undefined;
  const found =
    (named !== undefined ? whichSync(named, ctx.env, ctx.cwd) : undefined) ??
    (venv !== undefined && isExecutableFile(venv) ? venv : undefined) ??
    whichSync("python3", ctx.env, ctx.cwd);
  if (found === undefined) {
    throw new PolicyError("E_PROFILE", `profile python: ${named ?? "python3"} is not found in PATH (${ctx.env.PATH ?? ""}); name the interpreter by its absolute path`);
  }
  const root = pyenvShimRoot(found);
  return root !== undefined ? pyenvTarget(found, root, ctx) : found;
}

export function pythonRuntime(ctx: ProfileContext, name?: string): PythonRuntime {
  const path = findPython(ctx, name);
  const venv = prefixOfBin(path);
  const files = [path, ...(venv !== undefined ? [join(venv, "pyvenv.cfg")] : [])];
  return memoByFiles("python", files, homeOf(ctx.env), () => pythonLayout(path, ctx.env));
}

/** The directories an interpreter at `path` reads at start (the rules at the top of this file). */
function pythonLayout(path: string, env: NodeJS.ProcessEnv): PythonRuntime {
  const real = realOr(path);
  const dirs: string[] = [];
  const add = (p: string | undefined) => {
    if (p !== undefined && !tooWide(p, env)) dirs.push(p);
  };
  // A venv: bin/python is a link to the base interpreter; pyvenv.cfg sits one level above bin/.
  const venv = prefixOfBin(path);
  const cfgFile = venv !== undefined ? join(venv, "pyvenv.cfg") : undefined;
  if (venv !== undefined && cfgFile !== undefined && existsSync(cfgFile)) {
    const cfg = readPyvenvCfg(cfgFile);
    add(venv);
    if (cfg.home !== undefined && cfg.home.startsWith("/")) {
      const base = [basename(real), `python${/^(\d+\.\d+)/.exec(cfg.version ?? cfg.version_info ?? "")?.[1] ?? "3"}`, "python3"]
        .map((n) => join(cfg.home!, n))
        .find((p) => isExecutableFile(p));
      if (base !== undefined) add(pythonPrefix(realOr(base), cfg.version ?? cfg.version_info));
    }
  }
  // The installation the command's path lies in (pyenv's versions/V/bin/python3 is a link to
  // python3.X beside it), and the one its real path lies in.
  add(pythonPrefix(path));
  add(pythonPrefix(real));
  const ro = dirs.length > 0 || real.startsWith("/usr/") ? dirs : [real];
  return { path, real, ro: uniq(ro) };
}

export function pythonProfile(ctx: ProfileContext): PolicyInput {
  const py = pythonRuntime(ctx);
  return {
    filesystem: { ro: roGrants(py.ro), exec: uniq([py.path, py.real]) },
    env: { set: { PYTHONDONTWRITEBYTECODE: "1", PYTHONNOUSERSITE: "1" } },
  };
}
