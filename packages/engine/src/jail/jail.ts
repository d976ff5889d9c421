// A running jail: the mcpj-jail supervisor process, its control channel and its lifetime. The one
// class of the engine, because a jail has a lifecycle: started, ready, exited.
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync } from "node:fs";
import { constants } from "node:os";
import { createInterface } from "node:readline";
import type { Readable, Writable } from "node:stream";
import { errnoName } from "./errno.js";
import { EXIT } from "../exit-codes.js";
import { JailError } from "./errors.js";
import { helperPath, nativeAddon } from "./native.js";
import { encodePlan } from "./codec.js";
import type { JailPlan } from "./plan.js";
import { parseReport, type JailReport } from "./reports.js";
import { describeSetupError } from "./setup-errors.js";
import { TRACE, traceMark } from "../trace.js";
import { afterEnvI } from "../cgroup/user-scope.js";

/** How the helper gets each of the server's stdio streams: as for child_process, or a descriptor of ours. */
export type StdioMode = "pipe" | "inherit" | "ignore" | number;

export interface JailStartOptions {
  plan: JailPlan;
  stdin?: StdioMode;
  stdout?: StdioMode;
  stderr?: StdioMode;
  /** Receive the network sockets the plan has the jail make (netListenPort, netRedirectPort,
   * netDnsPort): takeSockets() then returns them. */
  receiveSockets?: boolean;
  /** Start the helper through this command (a user manager's scope: cgroup/user-scope.ts). */
  wrap?: { command: string[]; env: NodeJS.ProcessEnv };
  /** The plan is written once this resolves (given the helper's pid), not at once: the helper
   * waits for it, so the jail's cgroup can be made around an already running helper (user-scope.ts).
   * A rejection stops the helper and is the jail's set-up error. */
  planFor?: (helperPid: number) => Promise<JailPlan>;
}

export interface JailReady {
  landlockAbi: number;
  procSubset: boolean;
  seccomp: boolean;
  /** Downgrade bits taken at set-up (plan.ts Downgrade); a later "downgrade" report may add some. */
  downgrades: number;
}

export interface JailExit {
  /** The exit code mcp-j should leave with: the server's, 128+N for signal N, 125-127 for set-up. */
  code: number;
  serverCode: number | null;
  serverSignal: number | null;
  /** Set when the jail could not start the server, or its supervisor died under it. */
  error: JailError | null;
  /** Whether the jail reached "ready" (the server was started). */
  started: boolean;
}

/** Sockets made in the jail's network namespace, as descriptors of mcp-j. */
export interface JailSockets {
  proxy?: number;
  redirect?: number;
  dns?: number;
}

export class Jail {
  readonly process: ChildProcess;
  readonly ready: Promise<JailReady>;
  readonly exited: Promise<JailExit>;
  private readonly listeners: Array<(r: JailReport) => void> = [];
  private fdpass: number | null = null;
  private readonly expected: number;
  private exitInfo: JailExit | null = null;
  /** settle()'s requests: the last "sync N" sent, and who waits for which N (in order). */
  private syncSent = 0;
  private readonly syncWaiters: Array<{ n: number; done: () => void }> = [];
  private control: Writable | null = null;

  private constructor(opts: JailStartOptions) {
    const helper = helperPath();
    const p = opts.plan;
    this.expected = [p.netListenPort, p.netRedirectPort, p.netDnsPort].filter((x) => x !== 0).length;
    const args = ["--plan-fd", "3", "--control-fd", "3"];
    const stdio: StdioMode[] = [opts.stdin ?? "pipe", opts.stdout ?? "pipe", opts.stderr ?? "inherit", "pipe"];
    let childEnd: number | null = null;
    if (opts.receiveSockets === true) {
      const [parentEnd, cEnd] = nativeAddon().socketpair();
      this.fdpass = parentEnd;
      childEnd = cEnd;
      stdio.push(cEnd);
      args.push("--fdpass-fd", "4");
    }
    // The helper gets an empty environment: nothing of mcp-j's reaches the jail except through
    // the plan, which states the server's whole environment.
    // (MCPJ_TRACE=1 is passed on: the helper's start-up marks, see trace.ts; the server's
    // environment is the plan's, so it does not reach the jail.)
    // In a user manager's scope (cgroup/user-scope.ts) the helper is started by systemd-run, in the
    // same process, and `env -i` empties the environment the wrapper got (afterEnvI: what follows).
    const helperEnv: Record<string, string> = TRACE ? { MCPJ_TRACE: "1" } : {};
    this.process =
      opts.wrap === undefined
        ? spawn(helper, args, { stdio, env: helperEnv })
        : spawn(opts.wrap.command[0]!, [...opts.wrap.command.slice(1), ...afterEnvI(helperEnv, helper, args)], { stdio, env: opts.wrap.env });
    traceMark("jail.spawned");
    if (childEnd !== null) closeSync(childEnd);

    const control = this.process.stdio[3] as unknown as Readable & Writable;
    control.on("error", () => {
      /* the helper died early: its exit says why */
    });
    this.control = control;
    let planError: JailError | null = null;
    if (opts.planFor === undefined) {
      control.write(encodePlan(opts.plan));
      traceMark("jail.plan_written");
    } else {
      opts.planFor(this.process.pid ?? 0).then(
        (plan) => {
          control.write(encodePlan(plan));
          traceMark("jail.plan_written");
        },
        (e: unknown) => {
          planError = e instanceof JailError ? e : new JailError("E_SETUP", (e as Error).message, EXIT.setup);
          readyReject(planError);
          this.process.kill("SIGKILL");
        },
      );
    }

    let lastError: JailError | null = null;
    let readyResolve: (r: JailReady) => void = () => {};
    let readyReject: (e: JailError) => void = () => {};
    this.ready = new Promise<JailReady>((res, rej) => {
      readyResolve = res;
      readyReject = rej;
    });
    // Whether the server was started: decides how an exit without a server status is reported.
    let readyDone = false;
    this.ready.then(
      () => (readyDone = true),
      () => {},
    );

    let server: { code: number | null; signal: number | null } | null = null;
    const lines = createInterface({ input: control, crlfDelay: Infinity });
    // readline passes on its input's errors: a helper gone before it read its plan resets the socket.
    lines.on("error", () => {});
    lines.on("line", (line) => {
      const r = parseReport(line);
      if (r.type === "ready") traceMark("jail.ready");
      if (r.type === "ready") readyResolve({ landlockAbi: r.landlockAbi, procSubset: r.procSubset, seccomp: r.seccomp, downgrades: r.downgrades });
      else if (r.type === "error") lastError = new JailError("E_SETUP", describeSetupError(r.step, r.errno, r.detail), EXIT.setup);
      else if (r.type === "exec_failed") {
        lastError =
          r.errno === 2 || r.errno === 20
            ? new JailError("E_NOT_FOUND", `${r.path}: not found inside the jail; grant its directory with --ro DIR`, EXIT.notFound)
            : new JailError("E_NOT_EXECUTABLE", `${r.path}: cannot execute inside the jail: ${errnoName(r.errno)}`, EXIT.notExecutable);
      } else if (r.type === "exit") server = { code: r.code, signal: r.signal };
      else if (r.type === "synced") this.synced(r.n);
      if (lastError !== null) readyReject(lastError);
      for (const l of this.listeners) l(r);
    });

    const controlClosed = new Promise<void>((res) =>
      control.once("close", () => {
        // Every report the helper made has been read: nobody needs to wait any more.
        this.control = null;
        this.synced(Infinity);
        res();
      }),
    );
    const processExited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => {
      this.process.once("exit", (code, signal) => res({ code, signal }));
      this.process.once("error", (err) => {
        lastError = new JailError("E_HELPER_MISSING", `cannot start ${helper}: ${err.message}`);
        res({ code: EXIT.setup, signal: null });
      });
    });
    this.exited = Promise.all([processExited, controlClosed]).then(([p]) => {
      traceMark("jail.exited");
      if (planError !== null) lastError = planError;
      const s = server as { code: number | null; signal: number | null } | null;
      let code: number;
      if (lastError !== null) code = lastError.exitCode;
      else if (s !== null) code = s.signal !== null ? 128 + s.signal : (s.code ?? 0);
      else if (p.signal !== null) code = 128 + (signalNumber(p.signal) ?? 9);
      else code = p.code ?? EXIT.setup;
      if (lastError === null && s === null && !readyDone) {
        lastError = new JailError("E_SETUP", `the jail helper exited (${p.signal ?? p.code}) before the server started`);
      } else if (lastError === null && s === null) {
        // The supervisor died under a running server (killed, or crashed): its death took the jail
        // with it (init's parent-death signal), and notified syscalls had failed closed meanwhile.
        lastError = new JailError("E_SETUP", `the jail's supervisor died (${p.signal ?? `exit ${p.code}`}); the jail was torn down`, code);
      }
      readyReject(lastError ?? new JailError("E_SETUP", "the jail exited"));
      if (this.fdpass !== null) {
        closeSync(this.fdpass);
        this.fdpass = null;
      }
      this.exitInfo = { code, serverCode: s?.code ?? null, serverSignal: s?.signal ?? null, error: lastError, started: readyDone };
      return this.exitInfo;
    });
  }

  static start(opts: JailStartOptions): Jail {
    return new Jail(opts);
  }

  get pid(): number | undefined {
    return this.process.pid;
  }

  get stdin(): Writable | null {
    return this.process.stdin;
  }

  get stdout(): Readable | null {
    return this.process.stdout;
  }

  /** Every report line of the helper (events included), in order. */
  onReport(cb: (r: JailReport) => void): void {
    this.listeners.push(cb);
  }

  /**
   * Resolves once every report the helper made before now has reached onReport's listeners
   * (native/jail/ctl_in.h: the helper answers "sync N" behind the events it has queued), or once
   * the helper is gone (its last reports are read before its control socket closes), or after
   * `boundMs` (false: a helper that answers nothing is stopped or dying; waiting longer would
   * hold the caller's answer for nothing).
   */
  settle(boundMs: number): Promise<boolean> {
    const control = this.control;
    if (control === null) return Promise.resolve(true);
    const n = ++this.syncSent;
    return new Promise<boolean>((resolve) => {
      const waiter = {
        n,
        done: () => {
          clearTimeout(timer);
          resolve(true);
        },
      };
      const timer = setTimeout(() => {
        this.syncWaiters.splice(this.syncWaiters.indexOf(waiter), 1);
        resolve(false);
      }, boundMs);
      this.syncWaiters.push(waiter);
      // Not before the plan: the helper reads the plan from the same socket, to its last byte.
      this.ready.then(
        () => control.write(`sync ${n}\n`),
        () => this.synced(Infinity),
      );
    });
  }

  private synced(n: number): void {
    while (this.syncWaiters.length > 0 && this.syncWaiters[0]!.n <= n) this.syncWaiters.shift()!.done();
  }

  /** Sends a signal to the supervisor; SIGTERM/SIGINT/SIGHUP are forwarded to the server. */
  signal(sig: NodeJS.Signals): void {
    if (this.exitInfo === null) this.process.kill(sig);
  }

  /** Takes the network sockets the jail created in its namespace (call once, after `ready`): the
   * egress proxy's listener, its redirect listener, the resolver's UDP socket (native/jail/netif.c). */
  takeSockets(): JailSockets {
    if (this.fdpass === null) throw new JailError("E_SETUP", "this jail was not started with receiveSockets");
    const out: JailSockets = {};
    const names: Record<string, keyof JailSockets> = { L: "proxy", R: "redirect", N: "dns" };
    for (let i = 0; i < this.expected; i++) {
      const { tag, fd } = nativeAddon().recvFd(this.fdpass);
      const name = names[tag];
      if (name === undefined || out[name] !== undefined) {
        closeSync(fd);
        throw new JailError("E_SETUP", `the jail sent an unexpected socket (tag ${JSON.stringify(tag)})`);
      }
      out[name] = fd;
    }
    return out;
  }
}

function signalNumber(sig: NodeJS.Signals): number | undefined {
  return constants.signals[sig];
}
