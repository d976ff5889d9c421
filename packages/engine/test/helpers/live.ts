// A jail the test talks to while it runs (the red-team tests of issue 10): the program inside
// prints "wait:NAME" when the host must act (create a file "later", hold a lease, send a signal),
// the test waits for that line, acts, and answers on the program's stdin. Every wait is bounded;
// nothing sleeps for a fixed time. Same start path as runJailed (prepareJail/startJail), same
// check that nothing of the jail outlives it.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readlinkSync } from "node:fs";
import { after, before } from "node:test";
import { PolicySchema } from "../../src/policy/schema.js";
import { prepareJail, startJail } from "../../src/launch.js";
import type { JailReady } from "../../src/jail/jail.js";
import { childrenOf, processesInNamespace, programsDir, type JailedResult, type RunOptions } from "./jailed.js";
import { hostDir, outcomes, program, removeDir } from "../programs/index.js";

export interface LiveJail {
  /** Resolves with the first stdout line (already seen or to come) matching re; rejects after ms. */
  line(re: RegExp, ms?: number): Promise<string>;
  /** Writes a line to the program's stdin. */
  answer(text: string): void;
  /** Sends a signal to mcp-j's helper (the supervisor), which forwards SIGTERM/INT/HUP. */
  signal(sig: NodeJS.Signals): void;
  /** The host pid of the supervisor (mcpj-jail). */
  supervisorPid: number | undefined;
  ready: Promise<JailReady>;
  /** The run's end: stdin is closed first, so a program waiting for an answer sees EOF. */
  done(): Promise<JailedResult & { out: Map<string, string> }>;
  stdout(): string;
}

/** Starts `command` in the jail with the programs directory granted read-only. */
export function startLive(command: string[], o: RunOptions = {}): LiveJail {
  const fs = o.policy?.filesystem ?? {};
  const policy = PolicySchema.parse({ ...o.policy, filesystem: { ...fs, ro: [programsDir, ...(fs.ro ?? [])] } });
  const prepared = prepareJail({ cwd: o.cwd ?? process.cwd(), env: o.env ?? process.env, ...o, policy, command });
  const jail = startJail(prepared, { stdin: "pipe", stdout: "pipe", stderr: "pipe" });
  const reports: JailedResult["reports"] = [];
  jail.onReport((r) => reports.push(r));
  let stdout = "";
  let stderr = "";
  const waiters: Array<() => void> = [];
  jail.process.stdout?.setEncoding("utf8").on("data", (d: string) => {
    stdout += d;
    for (const w of waiters.splice(0)) w();
  });
  jail.process.stderr?.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  jail.stdin?.on("error", () => {});
  const timer = setTimeout(() => jail.signal("SIGKILL"), o.killAfterMs ?? 120_000);
  let pidNamespace: string | null = null;
  let ended = false;
  const exited = jail.exited.then((e) => {
    ended = true;
    for (const w of waiters.splice(0)) w();
    return e;
  });
  const ready = jail.ready.then((r) => {
    const init = jail.pid !== undefined ? childrenOf(jail.pid)[0] : undefined;
    if (init !== undefined) {
      try {
        pidNamespace = readlinkSync(`/proc/${init}/ns/pid`);
      } catch {
        /* gone already */
      }
    }
    return r;
  });
  ready.catch(() => {});

  const line = async (re: RegExp, ms = 30_000): Promise<string> => {
    const end = Date.now() + ms;
    for (;;) {
      const m = stdout.split("\n").find((l) => re.test(l));
      if (m !== undefined) return m;
      if (ended) throw new Error(`the program ended without printing ${re}:\n${stdout}\n${stderr}`);
      const left = end - Date.now();
      if (left <= 0) throw new Error(`no line ${re} within ${ms} ms:\n${stdout}\n${stderr}`);
      await new Promise<void>((res) => {
        const t = setTimeout(res, left);
        waiters.push(() => {
          clearTimeout(t);
          res();
        });
      });
    }
  };

  return {
    line,
    answer: (text) => jail.stdin?.write(`${text}\n`),
    signal: (sig) => jail.signal(sig),
    get supervisorPid() {
      return jail.pid;
    },
    ready,
    stdout: () => stdout,
    async done() {
      jail.stdin?.end();
      const exit = await exited;
      clearTimeout(timer);
      let readyValue: JailReady | null = null;
      try {
        readyValue = await ready;
      } catch {
        /* the exit says why */
      }
      if (pidNamespace !== null) {
        const end = Date.now() + 1000;
        while (processesInNamespace(pidNamespace).length > 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
        const left = processesInNamespace(pidNamespace);
        assert.equal(left.length, 0, `processes of the jail (${pidNamespace}) outlived it: ${left.join(" ")}`);
      }
      return { code: exit.code, stdout, stderr, exit, ready: readyValue, reports, pidNamespace, out: outcomes(stdout) };
    },
  };
}

/** The supervisor's audit events of a run, as their raw fields. */
export function eventsOf(r: Pick<JailedResult, "reports">): Array<Record<string, string>> {
  return r.reports.flatMap((x) => (x.type === "event" ? [x.fields] : []));
}

/** The host's side of a test (test/programs/hostside.c), run on the host: a unix listener that
 * reports its peers' credentials, a datagram receiver, a listener with a full backlog, a lease. */
export interface HostSide {
  /** Lines printed so far (after "ready"). */
  lines(): string[];
  /** Waits (bounded) until a line matching re has been printed. */
  line(re: RegExp, ms?: number): Promise<string>;
  send(text: string): void;
  stop(): Promise<void>;
}

export async function startHostSide(mode: "stream" | "dgram" | "backlog" | "lease", path: string): Promise<HostSide> {
  const child = spawn(program("hostside"), [mode, path], { stdio: ["pipe", "pipe", "inherit"] });
  let out = "";
  let ended = false;
  const waiters: Array<() => void> = [];
  const wake = (): void => {
    for (const w of waiters.splice(0)) w();
  };
  child.stdout.setEncoding("utf8").on("data", (d: string) => {
    out += d;
    wake();
  });
  const exited = new Promise<void>((res) =>
    child.once("exit", () => {
      ended = true;
      wake();
      res();
    }),
  );
  const all = (): string[] => out.split("\n").filter((l) => l !== "");
  const line = async (re: RegExp, ms = 30_000): Promise<string> => {
    const end = Date.now() + ms;
    for (;;) {
      const m = all().find((l) => re.test(l));
      if (m !== undefined) return m;
      if (ended) throw new Error(`hostside ${mode} ended without ${re}: ${out}`);
      const left = end - Date.now();
      if (left <= 0) throw new Error(`hostside ${mode}: no ${re} within ${ms} ms: ${out}`);
      await new Promise<void>((res) => {
        const t = setTimeout(res, left);
        waiters.push(() => {
          clearTimeout(t);
          res();
        });
      });
    }
  };
  await line(/^ready$/, 10_000);
  return {
    lines: () => all().slice(all().indexOf("ready") + 1),
    line,
    send: (text) => child.stdin.write(`${text}\n`),
    async stop() {
      child.stdin.end();
      await exited;
    },
  };
}

/** A read-only (R) and a writable (W) host directory for the grants of the enclosing describe
 * block, made before its tests and removed after them. */
export function grantDirs(): { readonly R: string; readonly W: string } {
  const d = { R: "", W: "" };
  before(() => {
    d.R = hostDir("ro");
    d.W = hostDir("rw");
  });
  after(() => [d.R, d.W].forEach(removeDir));
  return d;
}
