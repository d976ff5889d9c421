// Programs a server runs that the user did not name with --allow-exec (issue 12: a git server and
// puppeteer work with no flag beyond their data directory). Two sources, both the user's own words:
//
//   a well-known server's tool   a git server runs `git`: the table below, matched on the server's
//                                package or module name as the command spells it (a node_modules
//                                path, an npx or uvx package, `python -m`, the program's name),
//                                never on anything read from the server's files;
//   a program its configuration  an absolute path in an argument or in an env value the server
//   names                        gets, also inside JSON (PUPPETEER_LAUNCH_OPTIONS's executablePath).
//
// Either is added to the exec allowlist only when it is a system program: a regular executable
// under /usr, /bin or /lib (read-only in every jail), owned by root and writable by no one else, in
// a directory owned by root and writable by no one else. Running it in the jail gives the server no
// authority its own code lacks there (no_new_privs voids set-id bits); the allowlist still refuses
// and audits every other program, and anything else still needs --allow-exec.
import { statSync } from "node:fs";
import { basename, dirname } from "node:path";
import { isNodeName } from "./profiles/node.js";
import { isPythonName } from "./profiles/python.js";
import { realOr, underSystem, whichSync, type ProfileContext } from "./profiles/common.js";

/** Servers known to run a host program, by package or module name (lower case, `_` as `-`). */
const SERVER_PROGRAMS: { names: string[]; programs: string[]; what: string }[] = [
  { names: ["@cyanheads/git-mcp-server", "mcp-server-git", "@modelcontextprotocol/server-git"], programs: ["git"], what: "a git server runs it" },
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

/** The names the command gives its server: packages, modules, the program itself. */
export function serverNames(command: string[], ctx: ProfileContext): string[] {
  const [c, ...args] = command;
  if (c === undefined) return [];
  const names: string[] = [basename(c)];
  const name = basename(c);
  if (name === "npx") {
    const i = args.findIndex((a) => a === "-p" || a === "--package");
    const spec = i >= 0 ? args[i + 1] : firstOperand(args, new Set(["-c", "--call"]));
    if (spec !== undefined) names.push(packageSpecName(spec));
  } else if (name === "uvx" || name === "uv") {
    const rest = name === "uv" && args[0] === "tool" && args[1] === "run" ? args.slice(2) : args;
    const from = rest.indexOf("--from");
    const spec = from >= 0 ? rest[from + 1] : firstOperand(rest, new Set(["--with", "--python", "-p", "--index", "--index-url"]));
    if (spec !== undefined) names.push(packageSpecName(spec));
  } else if (isPythonName(name)) {
    const m = args.indexOf("-m");
    if (m >= 0 && args[m + 1] !== undefined) names.push(args[m + 1]!.split(".")[0]!);
  }
  // A node_modules path in the command (a script, or an installed bin's real path).
  const found = whichSync(c, ctx.env, ctx.cwd);
  for (const p of [...(found !== undefined ? [realOr(found)] : []), ...(isNodeName(name) || isPythonName(name) ? args : [])]) {
    const pkg = nodeModulesPackage(p);
    if (pkg !== undefined) names.push(pkg);
  }
  return [...new Set(names.map(normal))];
}

/** A regular executable owned by root, writable by no one else, in such a directory, under /usr, /bin or /lib. */
export function isSystemProgram(path: string): boolean {
  const real = realOr(path);
  if (!underSystem(real)) return false;
  try {
    const st = statSync(real);
    const dir = statSync(dirname(real));
    return st.isFile() && (st.mode & 0o111) !== 0 && st.uid === 0 && (st.mode & 0o022) === 0 && dir.uid === 0 && (dir.mode & 0o022) === 0;
  } catch {
    return false;
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
 * @param env the variables the server gets (NAME → value), whose values are searched for paths.
 */
export function inferredPrograms(command: string[], env: Record<string, string>, ctx: ProfileContext): InferredProgram[] {
  const out = new Map<string, string>();
  const names = new Set(serverNames(command, ctx));
  for (const row of SERVER_PROGRAMS) {
    if (!row.names.some((n) => names.has(normal(n)))) continue;
    for (const prog of row.programs) {
      const p = whichSync(prog, ctx.env, ctx.cwd);
      if (p !== undefined && isSystemProgram(p) && !out.has(realOr(p))) out.set(realOr(p), row.what);
    }
  }
  const named: [string, string][] = [
    ...argPaths(command),
    ...Object.entries(env).flatMap(([k, v]) => pathsIn(v).map((p): [string, string] => [p, k])),
  ];
  for (const [p, where] of named) if (isSystemProgram(p) && !out.has(realOr(p))) out.set(realOr(p), `named in ${where}`);
  return [...out].map(([path, why]) => ({ path, why }));
}
