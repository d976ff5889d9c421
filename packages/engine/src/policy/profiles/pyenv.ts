// pyenv shims, followed without running them. A shim ($PYENV_ROOT/shims/python3) is a bash script
// that runs `pyenv exec python3`; pyenv picks the version and runs $PYENV_ROOT/versions/V/bin/python3.
// We read the same inputs pyenv reads, in its order (pyenv-version-name, pyenv-version-file):
//
//   1. PYENV_VERSION in mcp-j's environment;
//   2. the first `.python-version` file from the start directory (PYENV_DIR when set) up to /;
//   3. $PYENV_ROOT/version;
//   4. "system": the next PROGRAM in PATH that is not a pyenv shim.
//
// A version file only selects among the interpreters the user installed: each entry must be a plain
// name (no "/", no ".."), an installed version (`3.11.7`) or a prefix of one (`3.11` → the highest
// 3.11.x, as pyenv's `latest` does). Whatever it names runs in the jail, never on the host.
import { existsSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { PolicyError } from "../errors.js";
import { isExecutableFile, readHead, realOr, whichSync, within, type ProfileContext } from "./common.js";

/** $PYENV_ROOT when `file` is a pyenv shim, else undefined. */
export function pyenvShimRoot(file: string): string | undefined {
  const text = readHead(realOr(file), 2048);
  if (!text.startsWith("#!")) return undefined;
  const exec = /^exec "(\/[^"]*)\/libexec\/pyenv" exec "\$program" "\$@"$/m.exec(text);
  if (!exec) return undefined;
  const root = exec[1]!;
  return existsSync(join(root, "versions")) || existsSync(join(root, "libexec", "pyenv")) ? root : undefined;
}

const VERSION_NAME = /^[A-Za-z0-9][A-Za-z0-9._+-]*$/;

interface VersionChoice {
  names: string[];
  /** Where the choice came from, for messages. */
  from: string;
}

function readVersionFile(file: string): string[] {
  return readHead(file, 4096)
    .split(/\s+/)
    .filter((w) => w !== "" && !w.startsWith("#"));
}

function chooseVersions(root: string, ctx: ProfileContext): VersionChoice {
  const env = ctx.env.PYENV_VERSION;
  if (env !== undefined && env !== "") return { names: env.split(":"), from: "PYENV_VERSION" };
  for (let d = ctx.env.PYENV_DIR ?? ctx.cwd; ; d = dirname(d)) {
    const f = join(d, ".python-version");
    if (existsSync(f)) return { names: readVersionFile(f), from: f };
    if (dirname(d) === d) break;
  }
  const global = join(root, "version");
  if (existsSync(global)) return { names: readVersionFile(global), from: global };
  return { names: ["system"], from: "pyenv's default" };
}

function compareVersions(a: string, b: string): number {
  const pa = a.split(/[.+-]/);
  const pb = b.split(/[.+-]/);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i] ?? "";
    const y = pb[i] ?? "";
    const nx = /^\d+$/.test(x) ? Number(x) : NaN;
    const ny = /^\d+$/.test(y) ? Number(y) : NaN;
    const c = !Number.isNaN(nx) && !Number.isNaN(ny) ? nx - ny : x.localeCompare(y);
    if (c !== 0) return c;
  }
  return 0;
}

function versionDir(root: string, name: string): string | undefined {
  const versions = join(root, "versions");
  if (existsSync(join(versions, name))) return join(versions, name);
  let installed: string[];
  try {
    installed = readdirSync(versions);
  } catch {
    return undefined;
  }
  const matches = installed.filter((v) => v.startsWith(`${name}.`) && /^[\d.]+$/.test(v.slice(name.length + 1)));
  matches.sort(compareVersions);
  const best = matches.pop();
  return best === undefined ? undefined : join(versions, best);
}

/**
 * The interpreter a pyenv shim would run for `program`, found by reading pyenv's files. Throws
 * PolicyError naming the version file when the chosen version is not installed or not a plain name.
 */
export function pyenvTarget(shim: string, root: string, ctx: ProfileContext): string {
  const program = shim.slice(shim.lastIndexOf("/") + 1);
  const choice = chooseVersions(root, ctx);
  for (const name of choice.names) {
    if (name === "system") {
      const shimDirs = (dir: string) => within(realOr(dir), realOr(root)) || /\/shims$/.test(dir);
      const sys = whichSync(program, ctx.env, ctx.cwd, shimDirs);
      if (sys !== undefined && pyenvShimRoot(sys) === undefined) return sys;
      continue;
    }
    if (!VERSION_NAME.test(name) || name.includes("..")) {
      throw new PolicyError("E_PROFILE", `profile python: ${choice.from}: ${JSON.stringify(name)} is not a pyenv version name; write a version such as 3.12.1`);
    }
    const dir = versionDir(root, name);
    if (dir === undefined) continue;
    const candidate = join(dir, "bin", program);
    if (isExecutableFile(candidate)) return candidate;
  }
  throw new PolicyError(
    "E_PROFILE",
    `profile python: pyenv has no ${program} for ${choice.names.map((n) => JSON.stringify(n)).join(", ")} (chosen by ${choice.from}); install it with pyenv or name the interpreter by its absolute path`,
  );
}
