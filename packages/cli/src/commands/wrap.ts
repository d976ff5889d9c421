// `mcp-j wrap` / `mcp-j unwrap`: put every stdio server of an MCP client's config behind mcp-j, and
// take it back out.
//
//   mcp-j wrap   [--client claude|vscode|cursor|FILE]... [--dry-run] [--mcpj PATH|npx]
//   mcp-j unwrap [--client claude|vscode|cursor|FILE]... [--dry-run] [--restore-backup]
//
// Clients and where their configs live (Linux):
//   claude  $XDG_CONFIG_HOME/Claude/claude_desktop_config.json (~/.config/...), key "mcpServers"
//   vscode  ./.vscode/mcp.json (the workspace in the current directory), key "servers" (+ "inputs")
//   cursor  ~/.cursor/mcp.json, key "mcpServers"
//   FILE    any file with "mcpServers" or "servers"
// Without --client, every one of the three that exists is processed.
//
// A stdio server { command, args, env } becomes { command: NODE, args: [MCPJ, ...flags, "--",
// command, ...args], env }: NODE and MCPJ are the absolute paths of this Node and of the CLI installed
// here, so that the entry runs as written whatever PATH the client starts it with (`--mcpj npx`
// writes `npx -y @mcp-j/cli@VERSION` instead, the form for a published package, and so does a CLI
// run from npx's cache; `--mcpj PATH` names the executable). The flags:
//   every key of `env` → --env NAME (the client sets the value on mcp-j, the jail gets it passed
//   through; values are never copied into args);
//   a data directory named in the arguments or in an `env` value → --rw (a directory as it is; a data
//   file, or one to be created, its directory), or a warning when that directory is too wide to grant
//   (the home directory, /); an existing file among the arguments that is not the server's own
//   script → --ro.
// Nothing about the runtime is written: at start mcp-j infers the profile and what the command needs
// (policy/infer.ts: a Node script's package root and the node_modules chain, a Python script's
// directory), and the report says what it will infer.
// Remote servers (url, or type http/sse) are left alone and reported. Servers already wrapped are left
// alone, so wrapping twice changes nothing. Unwrap restores { command, args } from the wrapped form
// (what follows "--"), or the whole file from the first backup with --restore-backup.
//
// Files are edited in place: only the text of each rewritten server entry changes, so comments and
// formatting elsewhere (VS Code's configs have them) are kept; comments inside a rewritten entry are
// lost. Before writing, the previous content is saved: the first time as FILE.mcp-j.bak, later as
// FILE.mcp-j.bak.1, .2, ... (a backup is never overwritten); the new content is written to a
// temporary file and renamed over FILE.
// A server wrapped with --rw WORKSPACE can write the workspace's .vscode: FILE, its backups and
// the temporary names beside them are read and written without following a link there, as
// mcp-j's own files are (engine host-file.ts: readOwnFile, writeOwnFile).
import { lstatSync, realpathSync, statSync } from "node:fs";
import { basename, dirname, extname, isAbsolute, join, resolve } from "node:path";
import { homedir } from "node:os";
import { blankJsonComments, commandNeeds, EXIT, HostFileError, readOwnFile, realOr, runtimeOf, tooWide, underSystem, writeOwnFile } from "@mcp-j/engine/core";
import { cliDir, cliPackage } from "../cli-package.js";
import { type CmdIo, usageError } from "./common.js";
import { indentUnit, lineIndent, objectMembers, serializeAt, type Member } from "./jsonc-edit.js";

export type ClientName = "claude" | "vscode" | "cursor";

export interface ClientConfigLocation {
  client: ClientName | "file";
  path: string;
}

function home(env: NodeJS.ProcessEnv): string {
  return env.HOME && isAbsolute(env.HOME) ? env.HOME : homedir();
}

/** Where each client keeps its MCP config on Linux. */
export function clientConfigPath(client: ClientName, io: Pick<CmdIo, "env" | "cwd">): string {
  const h = home(io.env);
  switch (client) {
    case "claude": {
      const xdg = io.env.XDG_CONFIG_HOME && isAbsolute(io.env.XDG_CONFIG_HOME) ? io.env.XDG_CONFIG_HOME : join(h, ".config");
      return join(xdg, "Claude", "claude_desktop_config.json");
    }
    case "vscode":
      return join(io.cwd, ".vscode", "mcp.json");
    case "cursor":
      return join(h, ".cursor", "mcp.json");
  }
}

export const BACKUP_SUFFIX = ".mcp-j.bak";

type Entry = Record<string, unknown>;

export function isRemote(e: Entry): boolean {
  const t = typeof e.type === "string" ? e.type.toLowerCase() : "";
  return typeof e.url === "string" || typeof e.serverUrl === "string" || t === "http" || t === "sse" || t === "streamable-http" || t === "streamablehttp";
}

/** How a wrapped entry starts mcp-j: the executable and the arguments before mcp-j's own. */
export interface Launcher {
  command: string;
  args: string[];
  /** Said in the report: which form this is. */
  how: string;
}

/** The launcher for `--mcpj` (undefined: the CLI installed here). */
export function launcher(mcpj: string | undefined): Launcher {
  const CLI_DIR = cliDir();
  const pkg = cliPackage();
  const npx: Launcher = { command: "npx", args: ["-y", `${pkg.name}@${pkg.version}`], how: `npx -y ${pkg.name}@${pkg.version} (the published package)` };
  if (mcpj === "npx") return npx;
  if (mcpj !== undefined) return { command: mcpj, args: [], how: mcpj };
  const bin = realpathSync(join(CLI_DIR, "bin", "mcp-j.js"));
  // A CLI run from npx's cache is gone when the cache is cleaned: the npx form then.
  if (bin.includes("/_npx/")) return npx;
  return { command: process.execPath, args: [bin], how: `${process.execPath} ${bin} (the CLI installed here, started by this Node)` };
}

export function isWrapped(e: Entry): boolean {
  if (typeof e.command !== "string" || !Array.isArray(e.args) || !e.args.includes("--")) return false;
  const first = String(e.args[0] ?? "");
  return /^mcp-j(\.js)?$/.test(basename(e.command)) || /^mcp-j(\.js)?$/.test(basename(first)) || (basename(e.command) === "npx" && e.args.some((a) => /^@mcp-j\/cli(@|$)/.test(String(a))));
}

const CODE = new Set([".js", ".mjs", ".cjs", ".ts", ".mts", ".py", ".sh"]);
const DATA = new Set([".db", ".sqlite", ".sqlite3", ".jsonl", ".ndjson"]);

function expand(p: string, io: Pick<CmdIo, "env" | "cwd">): string | undefined {
  const h = home(io.env);
  const q = p === "~" ? h : p.startsWith("~/") ? h + p.slice(1) : p;
  if (!isAbsolute(q) && !q.startsWith("./") && !q.startsWith("../")) return undefined;
  return resolve(io.cwd, q);
}

function kind(p: string): "dir" | "file" | "missing" {
  try {
    return statSync(p).isDirectory() ? "dir" : "file";
  } catch {
    return "missing";
  }
}

/** Where a server is wrapped: mcp-j's environment, and the client config being rewritten (the
 * file that starts the server: it is kept from the server, below). */
export type WrapContext = Pick<CmdIo, "env" | "cwd"> & { configFile?: string };

/** The mcp-j flags a server needs, from its command, arguments and env (see the top of this file). */
export function generatedFlags(command: string, args: string[], env: Record<string, unknown> | undefined, io: WrapContext): { flags: string[]; notes: string[] } {
  const flags: string[] = [];
  const notes: string[] = [];
  const name = basename(command);
  const ctx = { cwd: io.cwd, env: io.env, command: [command, ...args] };
  const runtime = runtimeOf([command, ...args], ctx);
  if (name === "docker" || name === "podman") notes.push(`${name} cannot run inside the jail (no namespaces or sockets to the daemon); consider running the server's command directly`);
  else if (runtime === "uv") notes.push(`${name} downloads packages: it may also need --allow-net for its index and a --rw cache`);
  const { needs, scriptArg } = commandNeeds([command, ...args], runtime, ctx);
  if (runtime !== undefined || needs.length > 0) {
    const what = needs.length > 0 ? `; read-only ${needs.map((n) => `${n.path} (${n.why})`).join(", ")}` : "";
    notes.push(`at start mcp-j infers ${runtime === "uv" ? "--profile python" : runtime !== undefined ? `--profile ${runtime}` : "what the command needs"}${what}`);
  }
  for (const k of Object.keys(env ?? {})) if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) flags.push("--env", k);

  const granted = new Set<string>();
  const writable: string[] = [];
  const grant = (flag: "--ro" | "--rw", path: string, why: string) => {
    if (granted.has(path)) return;
    granted.add(path);
    if (flag === "--rw") writable.push(realOr(path));
    flags.push(flag, path);
    notes.push(`granted ${path} ${flag === "--rw" ? "read-write" : "read-only"} (${why})`);
  };
  /** A path the server is given: a directory or data file is written to, other files are read. */
  const consider = (raw: string, where: string, fromEnv: boolean) => {
    if (raw.includes("${")) return;
    const p = expand(raw, io);
    if (p === undefined || underSystem(p)) return;
    const k = kind(p);
    if (k === "file" && !fromEnv && !DATA.has(extname(p))) {
      if (!CODE.has(extname(p))) grant("--ro", p, `a file named by ${where}`);
      return;
    }
    const dir = k === "dir" ? p : dirname(p);
    if (kind(dir) !== "dir") {
      notes.push(`warning: ${where} names ${p}, whose directory does not exist: create it, then add --rw DIR`);
    } else if (tooWide(dir, io.env)) {
      notes.push(`warning: ${where} names ${p}, in ${dir}, which is too wide to grant: keep the server's data in a directory of its own and add --rw DIR`);
    } else grant("--rw", dir, `${k === "dir" ? "a directory" : "the directory of a data file"} named by ${where}`);
  };
  args.forEach((a, i) => {
    if (i + 1 === scriptArg || a.startsWith("-")) return;
    consider(a, `argument ${i + 1}`, false);
  });
  for (const [k, v] of Object.entries(env ?? {})) if (typeof v === "string") consider(v, k, true);
  // The client config that starts this server, inside a directory granted read-write: a server
  // that rewrote it would run without the jail at the client's next start. Denied, with the client's
  // own directory (.vscode, .cursor: its other files, tasks, run commands too).
  const cfg = io.configFile;
  if (cfg !== undefined && writable.some((g) => cfg === g || cfg.startsWith(`${g}/`))) {
    const parent = dirname(cfg);
    const denied = basename(parent).startsWith(".") && !writable.includes(parent) ? parent : cfg;
    flags.push("--deny", denied);
    notes.push(`denied ${denied} (the client's configuration, in a read-write grant: a server that changed it would run outside the jail)`);
  }
  return { flags, notes };
}

export function wrapEntry(e: Entry, via: Launcher, io: WrapContext): { entry: Entry; notes: string[] } {
  const command = e.command as string;
  const args = Array.isArray(e.args) ? (e.args as unknown[]).map(String) : [];
  const { flags, notes } = generatedFlags(command, args, e.env as Record<string, unknown> | undefined, io);
  const entry: Entry = {};
  for (const [k, v] of Object.entries(e)) {
    if (k === "command") entry.command = via.command;
    else if (k === "args") continue;
    else entry[k] = v;
    if (k === "command") entry.args = [...via.args, ...flags, "--", command, ...args];
  }
  return { entry, notes };
}

export function unwrapEntry(e: Entry): Entry {
  const args = (e.args as unknown[]).map(String);
  const i = args.indexOf("--");
  const [command, ...rest] = args.slice(i + 1);
  const entry: Entry = {};
  for (const [k, v] of Object.entries(e)) {
    if (k === "command") {
      entry.command = command;
      entry.args = rest;
    } else if (k !== "args") entry[k] = v;
  }
  return entry;
}

/** A small line diff (LCS) in unified style with 3 lines of context. */
export function unifiedDiff(a: string, b: string, nameA: string, nameB: string): string {
  if (a === b) return "";
  const x = a.split("\n");
  const y = b.split("\n");
  const n = x.length;
  const m = y.length;
  const L: number[][] = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--) for (let j = m - 1; j >= 0; j--) L[i]![j] = x[i] === y[j] ? L[i + 1]![j + 1]! + 1 : Math.max(L[i + 1]![j]!, L[i]![j + 1]!);
  const ops: { t: " " | "-" | "+"; s: string; ai: number; bi: number }[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && x[i] === y[j]) ops.push({ t: " ", s: x[i]!, ai: i++, bi: j++ });
    else if (i < n && (j >= m || L[i + 1]![j]! >= L[i]![j + 1]!)) ops.push({ t: "-", s: x[i]!, ai: i++, bi: j });
    else ops.push({ t: "+", s: y[j]!, ai: i, bi: j++ });
  }
  const out = [`--- ${nameA}`, `+++ ${nameB}`];
  const C = 3;
  let k = 0;
  while (k < ops.length) {
    if (ops[k]!.t === " ") {
      k++;
      continue;
    }
    let start = Math.max(0, k - C);
    let end = k;
    // extend the hunk while changes are within 2*C lines of each other
    for (let q = k; q < ops.length; q++) {
      if (ops[q]!.t !== " ") end = q;
      else if (q - end > 2 * C) break;
    }
    const stop = Math.min(ops.length, end + C + 1);
    const hunk = ops.slice(start, stop);
    const aStart = hunk[0]!.ai + 1;
    const bStart = hunk[0]!.bi + 1;
    out.push(`@@ -${aStart},${hunk.filter((o) => o.t !== "+").length} +${bStart},${hunk.filter((o) => o.t !== "-").length} @@`);
    for (const o of hunk) out.push(o.t + o.s);
    k = stop;
    start = stop;
  }
  return out.join("\n") + "\n";
}

interface FileResult {
  changed: boolean;
  text: string;
  report: string[];
}

/** Rewrites the text of one config. Throws SyntaxError for unparsable files. */
export function transformConfig(
  text: string,
  mode: "wrap" | "unwrap",
  via: Launcher,
  io: WrapContext,
): FileResult {
  const blanked = blankJsonComments(text);
  const start = blanked.search(/\S/);
  if (start === -1) return { changed: false, text, report: ["empty file: nothing to do"] };
  const top = objectMembers(blanked, start);
  const holder = top.find((m) => m.key === "mcpServers") ?? top.find((m) => m.key === "servers");
  if (!holder) return { changed: false, text, report: ['no "mcpServers" or "servers" in this file: nothing to do'] };
  if (blanked[holder.valueStart] !== "{") throw new SyntaxError(`"${holder.key}" is not an object`);
  const members: Member[] = objectMembers(blanked, holder.valueStart);
  const unit = indentUnit(text);
  const edits: { start: number; end: number; text: string }[] = [];
  const report: string[] = [];
  for (const mem of members) {
    const raw = JSON.parse(blanked.slice(mem.valueStart, mem.valueEnd)) as unknown;
    if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
      report.push(`${mem.key}: not an object, left alone`);
      continue;
    }
    const e = raw as Entry;
    if (isRemote(e)) {
      report.push(`${mem.key}: remote server (${typeof e.url === "string" ? e.url : String(e.type)}), left alone: mcp-j jails local stdio servers`);
      continue;
    }
    if (typeof e.command !== "string") {
      report.push(`${mem.key}: no command, left alone`);
      continue;
    }
    const indent = lineIndent(text, mem.keyStart);
    if (mode === "wrap") {
      if (isWrapped(e)) {
        report.push(`${mem.key}: already wrapped`);
        continue;
      }
      const { entry, notes } = wrapEntry(e, via, io);
      edits.push({ start: mem.valueStart, end: mem.valueEnd, text: serializeAt(entry, indent, unit) });
      report.push(`${mem.key}: wrapped: ${[e.command, ...((e.args as string[]) ?? [])].join(" ")} → ${[entry.command, ...(entry.args as string[])].join(" ")}`);
      for (const n of notes) report.push(`${mem.key}:   note: ${n}`);
    } else {
      if (!isWrapped(e)) {
        report.push(`${mem.key}: not wrapped`);
        continue;
      }
      const entry = unwrapEntry(e);
      edits.push({ start: mem.valueStart, end: mem.valueEnd, text: serializeAt(entry, indent, unit) });
      report.push(`${mem.key}: unwrapped: ${[entry.command, ...(entry.args as string[])].join(" ")}`);
    }
  }
  let out = text;
  for (const ed of edits.sort((p, q) => q.start - p.start)) out = out.slice(0, ed.start) + ed.text + out.slice(ed.end);
  return { changed: out !== text, text: out, report };
}

/** Whether anything is at `p`, a link included (never followed). */
function present(p: string): boolean {
  try {
    lstatSync(p);
    return true;
  } catch {
    return false;
  }
}

/** FILE.mcp-j.bak, or the first FILE.mcp-j.bak.N where nothing is (a link counts): no backup is
 * overwritten. */
export function freeBackup(path: string): string {
  const first = path + BACKUP_SUFFIX;
  if (!present(first)) return first;
  for (let n = 1; ; n++) if (!present(`${first}.${n}`)) return `${first}.${n}`;
}

/** The mode to write a copy of the regular file at `p` with: its own, less write for others (which
 * readOwnFile refuses); 0600 when there is no regular file there. */
function modeOf(p: string): number {
  try {
    const st = lstatSync(p);
    if (st.isFile()) return st.mode & 0o7777 & ~0o022;
  } catch {
    /* 0600 */
  }
  return 0o600;
}

/** readOwnFile for a client's config or its backup. Its refusals say the fix for mcp-j's own files;
 * a config of another user (root wrapping a user's, say) is fixed by running as that user. */
function readConfig(path: string, what: string, mode: "wrap" | "unwrap"): string | null {
  try {
    return readOwnFile(path, what);
  } catch (e) {
    const st = lstatSync(path, { throwIfNoEntry: false });
    const me = process.geteuid?.();
    if (st?.isFile() && me !== undefined && st.uid !== me && st.uid !== 0) throw new HostFileError("E_HOST_FILE", `${what} ${path} belongs to user ${st.uid}: run mcp-j ${mode} as that user`);
    throw e;
  }
}

interface Parsed {
  targets: ClientConfigLocation[];
  dryRun: boolean;
  mcpj: string | undefined;
  restoreBackup: boolean;
  explicit: boolean;
}

function parseArgs(argv: string[], io: CmdIo, allowRestore: boolean): Parsed | string {
  const p: Parsed = { targets: [], dryRun: false, mcpj: undefined, restoreBackup: false, explicit: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const eq = a.indexOf("=");
    const name = a.startsWith("--") && eq > 0 ? a.slice(0, eq) : a;
    const val = () => (eq > 0 ? a.slice(eq + 1) : argv[++i]);
    if (name === "--dry-run" || name === "-n") p.dryRun = true;
    else if (name === "--restore-backup" && allowRestore) p.restoreBackup = true;
    else if (name === "--mcpj" && !allowRestore) {
      const v = val();
      if (!v) return "--mcpj needs a value: --mcpj PATH or --mcpj npx";
      p.mcpj = v;
    } else if (name === "--client") {
      const v = val();
      if (!v) return "--client needs a value: claude, vscode, cursor or a FILE";
      p.explicit = true;
      if (v === "claude" || v === "vscode" || v === "cursor") p.targets.push({ client: v, path: clientConfigPath(v, io) });
      else if (v.includes("/") || v.includes(".") ) p.targets.push({ client: "file", path: resolve(io.cwd, v) });
      else return `--client ${JSON.stringify(v)}: not claude, vscode, cursor or a file path`;
    } else return `unknown argument ${JSON.stringify(a)}`;
  }
  if (!p.explicit) {
    for (const c of ["claude", "vscode", "cursor"] as const) {
      const path = clientConfigPath(c, io);
      if (present(path)) p.targets.push({ client: c, path });
    }
  }
  return p;
}

const USAGE = {
  wrap: `usage: mcp-j wrap [--client claude|vscode|cursor|FILE]... [--dry-run] [--mcpj PATH|npx]
Rewrites every stdio server of an MCP client's configuration to start through mcp-j, shows the diff
and keeps a backup (FILE.mcp-j.bak, then .1, .2, ...; never overwritten). Without --client: each of
Claude Desktop, VS Code (./.vscode/mcp.json) and Cursor whose configuration exists.
  --client C     claude, vscode, cursor, or a configuration file (repeatable)
  --dry-run, -n  show what would change, write nothing
  --mcpj PATH    start mcp-j as PATH; "npx" writes npx -y @mcp-j/cli@VERSION (default: this Node
                 and the CLI installed here, by absolute path)
Each entry gets --env NAME for its env keys and --rw for the data directories its arguments and env
values name; the runtime's profile and the script's package are inferred when mcp-j starts.
`,
  unwrap: `usage: mcp-j unwrap [--client claude|vscode|cursor|FILE]... [--dry-run] [--restore-backup]
Takes every wrapped server back out of mcp-j (its command and arguments as they were).
  --restore-backup  put back the whole file as it was before the first wrap (FILE.mcp-j.bak)
`,
};

async function run(mode: "wrap" | "unwrap", argv: string[], io: CmdIo): Promise<number> {
  if (argv.includes("--help") || argv.includes("-h")) {
    io.stdout.write(USAGE[mode]);
    return EXIT.ok;
  }
  const parsed = parseArgs(argv, io, mode === "unwrap");
  if (typeof parsed === "string") return usageError(io, `${mode}: ${parsed}`);
  if (parsed.targets.length === 0) {
    io.stderr.write(
      `mcp-j: ${mode}: no MCP client config found (looked for ${(["claude", "vscode", "cursor"] as const).map((c) => clientConfigPath(c, io)).join(", ")}); name one with --client\n`,
    );
    return EXIT.failure;
  }
  let status: number = EXIT.ok;
  const via = launcher(parsed.mcpj);
  if (mode === "wrap") io.stdout.write(`mcp-j is started as ${via.how}\n`);
  for (const t of parsed.targets) {
    const label = t.client === "file" ? t.path : `${t.client} (${t.path})`;
    try {
      if (parsed.restoreBackup) {
        const bak = t.path + BACKUP_SUFFIX;
        const old = readConfig(bak, "the backup", mode);
        if (old === null) {
          io.stderr.write(`mcp-j: unwrap: ${label}: no backup ${bak}\n`);
          status = EXIT.failure;
          continue;
        }
        const cur = readConfig(t.path, "the configuration", mode) ?? "";
        io.stdout.write(unifiedDiff(cur, old, t.path, `${t.path} (from ${basename(bak)})`));
        if (!parsed.dryRun) {
          writeOwnFile(t.path, old, modeOf(bak));
          io.stdout.write(`${label}: restored from ${bak}\n`);
        } else io.stdout.write(`${label}: dry run, nothing written\n`);
        continue;
      }
      const text = readConfig(t.path, "the configuration", mode);
      if (text === null) {
        io.stderr.write(`mcp-j: ${mode}: ${label}: cannot read (ENOENT)\n`);
        status = EXIT.failure;
        continue;
      }
      status = Math.max(status, edit(mode, t.path, label, text, parsed.dryRun, via, io));
    } catch (e) {
      if (e instanceof HostFileError) io.stderr.write(`mcp-j: ${mode}: ${label}: ${e.message}; nothing was written\n`);
      else if (typeof (e as NodeJS.ErrnoException).code === "string") io.stderr.write(`mcp-j: ${mode}: ${label}: cannot write: ${(e as Error).message}\n`);
      else throw e;
      status = EXIT.failure;
    }
  }
  return status;
}

/** Rewrites one config (`text`, read from `path`): the report, the diff, the backup, the new file. */
function edit(mode: "wrap" | "unwrap", path: string, label: string, text: string, dryRun: boolean, via: Launcher, io: CmdIo): number {
  let r: FileResult;
  try {
    r = transformConfig(text, mode, via, { env: io.env, cwd: io.cwd, configFile: realOr(path) });
  } catch (e) {
    io.stderr.write(`mcp-j: ${mode}: ${label}: cannot parse: ${(e as Error).message}; the file was not changed\n`);
    return EXIT.usage;
  }
  io.stdout.write(`${label}:\n`);
  for (const line of r.report) io.stdout.write(`  ${line}\n`);
  if (!r.changed) {
    io.stdout.write(`  unchanged\n`);
    return EXIT.ok;
  }
  io.stdout.write(unifiedDiff(text, r.text, path, `${path} (${mode}ped)`));
  if (dryRun) {
    io.stdout.write(`  dry run: nothing written\n`);
    return EXIT.ok;
  }
  const bak = freeBackup(path);
  const fileMode = modeOf(path);
  writeOwnFile(bak, text, fileMode);
  writeOwnFile(path, r.text, fileMode);
  io.stdout.write(`  written; previous version saved as ${bak}\n`);
  return EXIT.ok;
}

export async function wrapCommand(argv: string[], io: CmdIo): Promise<number> {
  return run("wrap", argv, io);
}

export async function unwrapCommand(argv: string[], io: CmdIo): Promise<number> {
  return run("unwrap", argv, io);
}
