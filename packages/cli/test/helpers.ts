// Runs the real `mcp-j` command (the bin, as users run it) for CLI tests.
import { spawn, type ChildProcess } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { bound, timeScale } from "@mcp-j/engine/test-helpers";

export { bound, timeScale, waitFor, waitForValue } from "@mcp-j/engine/test-helpers";

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..", "..");
export const mcpjBin = join(repoRoot, "packages", "cli", "bin", "mcp-j.js");

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

const running = new Set<ChildProcess>();
// A test that fails half-way must not leave its mcp-j running (and the test file waiting on it).
process.on("exit", () => {
  for (const c of running) c.kill("SIGKILL");
});

/** A run of a server (`... -- CMD`) without --grace gets the default 2 s grace scaled by bound():
 * under emulation a server needs longer than 2 s to leave after its stdin closed. */
function withScaledGrace(args: string[]): string[] {
  const at = args[0] === "run" ? 1 : 0; // `mcp-j run ...` or `mcp-j [flags] -- CMD`
  const end = args.indexOf("--");
  if (timeScale === 1 || end < at || !(args[at] ?? "").startsWith("-")) return args;
  if (args.slice(at, end).some((a) => a === "--grace" || a.startsWith("--grace="))) return args;
  return [...args.slice(0, at), "--grace", `${bound(2000)}ms`, ...args.slice(at)];
}

/** Flags for a command that ends on its own (curl, ssh, a Python script): runMcpj closes its stdin
 * at once, and the grace after that (2 s by default) would be a deadline on the command's whole run,
 * which a loaded machine misses (exit 143). A command that hangs still ends, after this bound. */
export const UNTIL_IT_EXITS = ["--grace", `${bound(60_000)}ms`];

/**
 * mcp-j's environment for a test that maps names on the host side (test/fixtures/host-names.mjs,
 * preloaded): what the host's resolver says for each name (a list of lists: one per look-up, in
 * turn), and which addresses reach a loopback test server instead.
 */
export function hostNames(hosts: Record<string, string[] | string[][]>, routes: Record<string, string> = {}): NodeJS.ProcessEnv {
  const fixture = join(repoRoot, "packages", "cli", "test", "fixtures", "host-names.mjs");
  return { ...process.env, NODE_OPTIONS: `--import=${fixture}`, MCPJ_TEST_HOSTS: JSON.stringify(hosts), MCPJ_TEST_ROUTES: JSON.stringify(routes) };
}

export function startMcpj(args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): ChildProcess {
  const child = spawn(process.execPath, [mcpjBin, ...withScaledGrace(args)], {
    stdio: ["pipe", "pipe", "pipe"],
    env: opts.env ?? process.env,
    cwd: opts.cwd ?? repoRoot,
  });
  running.add(child);
  child.once("exit", () => running.delete(child));
  return child;
}

export function collect(child: ChildProcess): Promise<CliResult> {
  let stdout = "";
  let stderr = "";
  child.stdout?.setEncoding("utf8").on("data", (d: string) => (stdout += d));
  child.stderr?.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  return new Promise((resolve) => child.once("close", (code, signal) => resolve({ code, signal, stdout, stderr })));
}

export async function runMcpj(args: string[], opts: { stdin?: string; env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<CliResult> {
  const child = startMcpj(args, opts);
  const done = collect(child);
  child.stdin?.on("error", () => {});
  child.stdin?.end(opts.stdin ?? "");
  return done;
}

/** Host pids of every descendant of pid (children, grandchildren...). */
export function descendants(pid: number): number[] {
  const out: number[] = [];
  const walk = (p: number): void => {
    let kids: number[] = [];
    try {
      for (const t of readdirSync(`/proc/${p}/task`)) {
        kids = kids.concat(
          readFileText(`/proc/${p}/task/${t}/children`)
            .split(/\s+/)
            .filter(Boolean)
            .map(Number),
        );
      }
    } catch {
      return;
    }
    for (const k of kids) {
      out.push(k);
      walk(k);
    }
  };
  walk(pid);
  return out;
}

function readFileText(p: string): string {
  try {
    return readFileSync(p, "utf8");
  } catch {
    return "";
  }
}

/** A process that still runs: exists and is not a zombie (a dead process whose parent has not
 * reaped it yet; the host's init reaps the jail's after its supervisor died). */
export function alive(pid: number): boolean {
  const stat = readFileText(`/proc/${pid}/stat`);
  if (stat === "") return false;
  const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
  return state !== "Z" && state !== "X";
}

/** ESCAPES 49: forks until fork fails, then prints "forked=N errno=NAME" on stderr. */
export const FORK_BOMB_PY = `import errno, os, sys, time
n = 0
try:
    while True:
        if os.fork() == 0:
            time.sleep(30); os._exit(0)
        n += 1
except OSError as e:
    sys.stderr.write("forked=%d errno=%s\\n" % (n, errno.errorcode[e.errno]))`;
