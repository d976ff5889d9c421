// Programs a server runs that the user did not name with --allow-exec (issue 12: a git server and
// puppeteer work with no flag beyond their data directory). Two sources, both the user's own words:
//
//   a well-known server's tool   a git server runs `git`: the table below, matched on the server's
//                                package or module name as the command spells it (an npm package in
//                                npx's arguments or in a node_modules path the user typed, a PyPI
//                                package in uvx's, `python -m`, a Python program's name); never read
//                                from the server's files, nor from a symlink outside the system
//                                directories;
//   a program its configuration  an absolute path in an argument or in an env value the server
//   names                        gets, also inside JSON (PUPPETEER_LAUNCH_OPTIONS's executablePath).
//
// Either is added to the exec allowlist only when it is a system program (systemProgram): as
// spelled and as resolved, under /usr, /bin or /lib; a regular executable owned by root and
// writable by no one else, each directory from it up to / too (so nobody but root can swap it or
// a directory on its way between this check and the jail's start); and no grant of the jail covers
// it (a grant mounted over it would run another file). No jail can write there: a writable grant
// inside a system directory is refused (jail/grants.ts). Running it in the jail gives the server no
// authority its own code lacks there (no_new_privs voids set-id bits); the allowlist still refuses
// and audits every other program, and anything else still needs --allow-exec.
import { lstatSync, realpathSync, statSync } from "node:fs";
import { basename, dirname, normalize } from "node:path";
import { isNodeName } from "./profiles/node.js";
import { isPythonName } from "./profiles/python.js";
import { realOr, underSystem, whichSync, within, type ProfileContext } from "./profiles/common.js";

/** Servers known to run a host program, by npm or PyPI package name (lower case, `_` as `-`). */
const SERVER_PROGRAMS: { npm: string[]; pypi: string[]; programs: string[]; what: string }[] = [
  { npm: ["@cyanheads/git-mcp-server"], pypi: ["mcp-server-git"], programs: ["git"], what: "a git server runs it" },
];

export interface InferredProgram {
  path: string;
  why: string;
}

const normal = (name: string): string => name.toLowerCase().replace(/_/g, "-");

/** `@scope/name@1.2.3` → `@scope/name`; `name==1.0`, `name@latest` → `name`. */
function packageSpecName(spec: string): string {
  const at = spec.indexOf("@", 1);
  const noVersion = at > 0 ? spec.slice(0, at) : spec;
  return noVersion.split(/[=<>~![]/)[0]!;
}

/** The first argument that is not a flag, skipping the values of `valueFlags`. */
function firstOperand(args: string[], valueFlags: Set<string>): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (valueFlags.has(a)) i++;
    else if (a === "--") return args[i + 1];
    else if (!a.startsWith("-")) return a;
  }
  return undefined;
}

/** The package under the last node_modules of a path: `.../node_modules/@s/n/dist/i.js` → `@s/n`. */
function nodeModulesPackage(p: string): string | undefined {
  const parts = p.split("/");
  const i = parts.lastIndexOf("node_modules");
  if (i < 0 || parts[i + 1] === undefined) return undefined;
  return parts[i + 1]!.startsWith("@") && parts[i + 2] !== undefined ? `${parts[i + 1]}/${parts[i + 2]}` : parts[i + 1];
}

/**
 * The package names the command gives its server, per registry.
 * @param runtime the command's runtime (infer.ts's runtimeOf): a Python program's name is a PyPI name.
 */
export function serverNames(command: string[], runtime: string | undefined, ctx: ProfileContext): { npm: string[]; pypi: string[] } {
  const npm: string[] = [];
  const pypi: string[] = [];
  const [c, ...args] = command;
  if (c === undefined) return { npm, pypi };
  const name = basename(c);
  if (name === "npx") {
    const i = args.findIndex((a) => a === "-p" || a === "--package");
    const spec = i >= 0 ? args[i + 1] : firstOperand(args, new Set(["-c", "--call"]));
    if (spec !== undefined) npm.push(packageSpecName(spec));
  } else if (name === "uvx" || name === "uv") {
    const rest = name === "uv" && args[0] === "tool" && args[1] === "run" ? args.slice(2) : args;
    const from = rest.indexOf("--from");
    const spec = from >= 0 ? rest[from + 1] : firstOperand(rest, new Set(["--with", "--python", "-p", "--index", "--index-url"]));
    if (spec !== undefined) pypi.push(packageSpecName(spec));
  } else if (isPythonName(name)) {
    const m = args.indexOf("-m");
    if (m >= 0 && args[m + 1] !== undefined) pypi.push(args[m + 1]!.split(".")[0]!);
  } else if (isNodeName(name)) {
    // The script as the user typed it: `node .../node_modules/@s/n/dist/index.js`.
    for (const a of args) {
      const pkg = nodeModulesPackage(a);
      if (pkg !== undefined) npm.push(pkg);
    }
  } else {
    const found = whichSync(c, ctx.env, ctx.cwd);
    if (found !== undefined) {
      // A program installed by the system's package managers: npm -g's link in /usr/bin into
      // /usr/lib/node_modules, pip's console script. A link elsewhere is the server's own spelling.
      const real = systemProgram(found);
      const pkg = real !== undefined ? nodeModulesPackage(real) : undefined;
      if (pkg !== undefined) npm.push(pkg);
      else if (real !== undefined || runtime === "python") pypi.push(name);
    }
  }
  return { npm: [...new Set(npm.map(normal))], pypi: [...new Set(pypi.map(normal))] };
}

/** Owned by root and writable by no one else (a symbolic link itself: owned by root): what only root can change. */
function rootOnly(path: string): boolean {
  try {
    const st = lstatSync(path);
    return st.uid === 0 && (st.isSymbolicLink() || (st.mode & 0o022) === 0);
  } catch {
    return false;
  }
}

/** Every directory from `path`'s parent up to / is root's alone. */
function rootOnlyAncestors(path: string): boolean {
  for (let d = dirname(path); ; d = dirname(d)) {
    if (!rootOnly(d)) return false;
    if (d === "/") return true;
  }
}

/**
 * The real path of a system program, by the rules at the top of this file, or undefined (grants
 * are checked by inferredPrograms).
 */
export function systemProgram(path: string): string | undefined {
  if (!path.startsWith("/")) return undefined;
  const spelled = normalize(path);
  if (!underSystem(spelled) || !rootOnlyAncestors(spelled) || !rootOnly(spelled)) return undefined;
  try {
    const real = realpathSync(spelled);
    if (!underSystem(real) || !rootOnlyAncestors(real)) return undefined;
    const st = statSync(real);
    return st.isFile() && (st.mode & 0o111) !== 0 && st.uid === 0 && (st.mode & 0o022) === 0 ? real : undefined;
  } catch {
    return undefined;
  }
}

/** Absolute paths in an env value: `/usr/bin/x`, `{"executablePath":"/usr/lib/x"}`. */
function pathsIn(value: string): string[] {
  return value.split(/[\s"',;:=[\]{}()]+/).filter((t) => t.startsWith("/") && t.length > 1);
}

/** The path an argument names: `/usr/bin/x` or `--opt=/usr/bin/x` (a shell's operands are scripts: none). */
function argPaths(command: string[]): [string, string][] {
  if (/^(sh|bash|dash|ash|zsh|ksh|busybox)$/.test(basename(command[0] ?? ""))) return [];
  return command.slice(1).flatMap((a, i): [string, string][] => {
    const p = a.startsWith("/") ? a : /^--?[A-Za-z][\w-]*=(\/.*)$/.exec(a)?.[1];
    return p !== undefined && !/\s/.test(p) ? [[p, `argument ${i + 1}`]] : [];
  });
}

/**
 * The system programs this server runs, by the rules at the top of this file.
 * @param command the command as the user wrote it (not with the runtime's host path in place).
 * @param runtime its runtime (infer.ts's runtimeOf).
 * @param env the variables the server gets (NAME → value), whose values are searched for paths.
 * @param grants the jail's grants (host path and jail path): a program either covers is not added.
 */
export function inferredPrograms(command: string[], runtime: string | undefined, env: Record<string, string>, ctx: ProfileContext, grants: readonly { path: string; dest?: string }[]): InferredProgram[] {
  const out = new Map<string, string>();
  const covered = (p: string): boolean => grants.some((g) => within(p, g.path) || within(p, g.dest ?? g.path) || within(p, realOr(g.path)));
  const add = (p: string, why: string): void => {
    const real = systemProgram(p);
    if (real === undefined || covered(normalize(p)) || covered(real) || out.has(real)) return;
    out.set(real, why);
  };
  const names = serverNames(command, runtime, ctx);
  for (const row of SERVER_PROGRAMS) {
    if (!row.npm.some((n) => names.npm.includes(normal(n))) && !row.pypi.some((n) => names.pypi.includes(normal(n)))) continue;
    for (const prog of row.programs) {
      const p = whichSync(prog, { PATH: "/usr/bin:/bin" }, "/");
      if (p !== undefined) add(p, row.what);
    }
  }
  for (const [p, where] of argPaths(command)) add(p, `named in ${where}`);
  for (const [k, v] of Object.entries(env)) for (const p of pathsIn(v)) add(p, `named in ${k}`);
  return [...out].map(([path, why]) => ({ path, why }));
}
