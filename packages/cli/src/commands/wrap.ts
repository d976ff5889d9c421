// `mcp-j wrap` / `mcp-j unwrap`: put every stdio server of an MCP client's config behind mcp-j, and
// take it back out.
//
//   mcp-j wrap   [--client claude|vscode|cursor|FILE]... [--dry-run] [--mcpj PATH]
//   mcp-j unwrap [--client claude|vscode|cursor|FILE]... [--dry-run] [--mcpj PATH] [--restore-backup]
//
// Clients and where their configs live (Linux):
//   claude  $XDG_CONFIG_HOME/Claude/claude_desktop_config.json (~/.config/...), key "mcpServers"
//   vscode  ./.vscode/mcp.json (the workspace in the current directory), key "servers" (+ "inputs")
//   cursor  ~/.cursor/mcp.json, key "mcpServers"
//   FILE    any file with "mcpServers" or "servers"
// Without --client, every one of the three that exists is processed.
//
// A stdio server { command, args, env } becomes
//   { command: "mcp-j", args: [...flags, "--", command, ...args], env }
// where the flags are generated from what the command needs:
//   npx → --profile npx; node/nodejs → --profile node; python*/uv/uvx/pipx → --profile python;
//   every key of `env` → --env NAME (the client sets the value on mcp-j, the jail gets it passed
//   through; values are never copied into args); each existing file/directory among the arguments →
//   --ro (a file: its package root, i.e. the nearest parent with package.json/pyproject.toml, else its
//   directory). Grants are read-only: if a server must write (a filesystem server), change --ro to --rw.
// Remote servers (url, or type http/sse) are left alone and reported. Servers whose command already is
// mcp-j are left alone, so wrapping twice changes nothing. Unwrap restores { command, args } from the
// wrapped form (what follows "--"), or the whole file from the backup with --restore-backup.
//
// Files are edited in place: only the text of each rewritten server entry changes, so comments and
// formatting elsewhere (VS Code's configs have them) are kept; comments inside a rewritten entry are
// lost. Before writing, the previous content is copied to FILE.mcp-j.bak (mode kept), and the new one
// is written to a temporary file and renamed over FILE.
import { copyFileSync, existsSync, readFileSync, renameSync, statSync, writeFileSync, chmodSync } from "node:fs";
import { basename, dirname, isAbsolute, join, resolve } from "node:path";
import { homedir } from "node:os";
import { blankJsonComments, EXIT } from "@mcp-j/engine/core";
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

export function isWrapped(e: Entry): boolean {
  return typeof e.command === "string" && /^mcp-j(\.js)?$/.test(basename(e.command)) && Array.isArray(e.args) && e.args.includes("--");
}

function packageRoot(file: string): string {
  let d = dirname(file);
  for (let k = 0; k < 8; k++) {
    if (["package.json", "pyproject.toml", "setup.py"].some((f) => existsSync(join(d, f)))) return d;
    const up = dirname(d);
    if (up === d) break;
    d = up;
  }
  return dirname(file);
}

/** The mcp-j flags a server needs, from its command, arguments and env. */
export function generatedFlags(command: string, args: string[], env: Record<string, unknown> | undefined, io: Pick<CmdIo, "env" | "cwd">): { flags: string[]; notes: string[] } {
  const flags: string[] = [];
  const notes: string[] = [];
  const name = basename(command);
  if (name === "npx" || name === "npm" || name === "pnpx") flags.push("--profile", "npx");
  else if (name === "node" || name === "nodejs") flags.push("--profile", "node");
  else if (/^python[0-9.]*$/.test(name) || name === "uv" || name === "uvx" || name === "pipx") {
    flags.push("--profile", "python");
    if (name !== "pipx" && !/^python/.test(name)) notes.push(`${name} downloads packages: it may also need --allow-net for its index and a --rw cache`);
  } else if (name === "docker" || name === "podman") notes.push(`${name} cannot run inside the jail (no namespaces or sockets to the daemon); consider running the server's command directly`);
  else notes.push(`no profile for ${JSON.stringify(name)}: the jail grants only the command itself; add --ro/--allow-exec as needed`);
  for (const k of Object.keys(env ?? {})) if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) flags.push("--env", k);
  const h = home(io.env);
  const seen = new Set<string>();
  for (const a of args) {
    if (a.startsWith("-") || a.includes("${")) continue;
    const p = a.startsWith("~/") ? h + a.slice(1) : a;
    if (!isAbsolute(p) && !p.startsWith("./") && !p.startsWith("../")) continue;
    const abs = resolve(io.cwd, p);
    let grant: string | undefined;
    try {
      const st = statSync(abs);
      grant = st.isDirectory() ? abs : packageRoot(abs);
    } catch {
      continue;
    }
    if (grant && !seen.has(grant) && grant !== "/" && !/^\/(usr|bin|lib|lib64|sbin)(\/|$)/.test(grant)) {
      seen.add(grant);
      flags.push("--ro", grant);
      notes.push(`granted ${grant} read-only; use --rw if the server must write there`);
    }
  }
  return { flags, notes };
}

export function wrapEntry(e: Entry, mcpj: string, io: Pick<CmdIo, "env" | "cwd">): { entry: Entry; notes: string[] } {
  const command = e.command as string;
  const args = Array.isArray(e.args) ? (e.args as unknown[]).map(String) : [];
  const { flags, notes } = generatedFlags(command, args, e.env as Record<string, unknown> | undefined, io);
  const entry: Entry = {};
  for (const [k, v] of Object.entries(e)) {
    if (k === "command") entry.command = mcpj;
    else if (k === "args") continue;
    else entry[k] = v;
    if (k === "command") entry.args = [...flags, "--", command, ...args];
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
  mcpj: string,
  io: Pick<CmdIo, "env" | "cwd">,
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
      const { entry, notes } = wrapEntry(e, mcpj, io);
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

function writeAtomically(path: string, text: string): void {
  const mode = statSync(path).mode & 0o7777;
  const tmp = join(dirname(path), `.${basename(path)}.mcp-j-${process.pid}.tmp`);
  writeFileSync(tmp, text, { mode });
  chmodSync(tmp, mode);
  renameSync(tmp, path);
}

interface Parsed {
  targets: ClientConfigLocation[];
  dryRun: boolean;
  mcpj: string;
  restoreBackup: boolean;
  explicit: boolean;
}

function parseArgs(argv: string[], io: CmdIo, allowRestore: boolean): Parsed | string {
  const p: Parsed = { targets: [], dryRun: false, mcpj: "mcp-j", restoreBackup: false, explicit: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const eq = a.indexOf("=");
    const name = a.startsWith("--") && eq > 0 ? a.slice(0, eq) : a;
    const val = () => (eq > 0 ? a.slice(eq + 1) : argv[++i]);
    if (name === "--dry-run" || name === "-n") p.dryRun = true;
    else if (name === "--restore-backup" && allowRestore) p.restoreBackup = true;
    else if (name === "--mcpj") {
      const v = val();
      if (!v) return "--mcpj needs a value: --mcpj PATH";
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
      if (existsSync(path)) p.targets.push({ client: c, path });
    }
  }
  return p;
}

async function run(mode: "wrap" | "unwrap", argv: string[], io: CmdIo): Promise<number> {
  const parsed = parseArgs(argv, io, mode === "unwrap");
  if (typeof parsed === "string") return usageError(io, `${mode}: ${parsed}`);
  if (parsed.targets.length === 0) {
    io.stderr.write(
      `mcp-j: ${mode}: no MCP client config found (looked for ${(["claude", "vscode", "cursor"] as const).map((c) => clientConfigPath(c, io)).join(", ")}); name one with --client\n`,
    );
    return EXIT.failure;
  }
  let status: number = EXIT.ok;
  for (const t of parsed.targets) {
    const label = t.client === "file" ? t.path : `${t.client} (${t.path})`;
    if (parsed.restoreBackup) {
      const bak = t.path + BACKUP_SUFFIX;
      if (!existsSync(bak)) {
        io.stderr.write(`mcp-j: unwrap: ${label}: no backup ${bak}\n`);
        status = EXIT.failure;
        continue;
      }
      const cur = existsSync(t.path) ? readFileSync(t.path, "utf8") : "";
      const old = readFileSync(bak, "utf8");
      io.stdout.write(unifiedDiff(cur, old, t.path, `${t.path} (from ${basename(bak)})`));
      if (!parsed.dryRun) {
        copyFileSync(bak, t.path);
        io.stdout.write(`${label}: restored from ${bak}\n`);
      } else io.stdout.write(`${label}: dry run, nothing written\n`);
      continue;
    }
    let text: string;
    try {
      text = readFileSync(t.path, "utf8");
    } catch (e) {
      io.stderr.write(`mcp-j: ${mode}: ${label}: cannot read (${(e as NodeJS.ErrnoException).code ?? "error"})\n`);
      status = EXIT.failure;
      continue;
    }
    let r: FileResult;
    try {
      r = transformConfig(text, mode, parsed.mcpj, io);
    } catch (e) {
      io.stderr.write(`mcp-j: ${mode}: ${label}: cannot parse: ${(e as Error).message}; the file was not changed\n`);
      status = Math.max(status, EXIT.usage);
      continue;
    }
    io.stdout.write(`${label}:\n`);
    for (const line of r.report) io.stdout.write(`  ${line}\n`);
    if (!r.changed) {
      io.stdout.write(`  unchanged\n`);
      continue;
    }
    io.stdout.write(unifiedDiff(text, r.text, t.path, `${t.path} (${mode}ped)`));
    if (parsed.dryRun) {
      io.stdout.write(`  dry run: nothing written\n`);
      continue;
    }
    const bak = t.path + BACKUP_SUFFIX;
    copyFileSync(t.path, bak);
    chmodSync(bak, statSync(t.path).mode & 0o7777);
    writeAtomically(t.path, r.text);
    io.stdout.write(`  written; previous version saved as ${bak}\n`);
  }
  return status;
}

export async function wrapCommand(argv: string[], io: CmdIo): Promise<number> {
  return run("wrap", argv, io);
}

export async function unwrapCommand(argv: string[], io: CmdIo): Promise<number> {
  return run("unwrap", argv, io);
}
