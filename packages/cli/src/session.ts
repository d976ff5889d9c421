// One jailed session: resources, the jail, the egress proxy, the JSON-RPC proxy between the client
// and the server, the audit log, and the lifetime rules (docs/design.md, "Lifetime"):
//   client closes stdin → server's stdin closed → SIGTERM after `grace` → SIGKILL after `grace`;
//   server closes stdout or dies → every pending request answered with the cause → exit;
//   mcp-j gets SIGTERM/SIGINT/SIGHUP → forwarded to the server.
import { randomBytes } from "node:crypto";
import { constants } from "node:os";
import { startProxy, type InFlightRequest } from "@mcp-j/proxy";
import {
  AuditLogError,
  decodeEvent,
  denialReporter,
  DOWNGRADES,
  downgradeNames,
  EXIT,
  dnsRefusalLine,
  JailError,
  jailNetwork,
  networkRefusalNote,
  parseSize,
  PinFileError,
  planResources,
  prepareJail,
  ResourceLimitUnavailableError,
  startJail,
  type Jail,
  type JailExit,
  type Policy,
  type PreparedJail,
  type JailCgroup,
  type ResourcePlan,
} from "@mcp-j/engine/core";
import { Attribution } from "./attribution.js";
import { openAuditSink, type AuditSink } from "./audit-sink.js";
import { type CommandIo, say } from "./io.js";

function mib(n: number): string {
  return n % (1024 * 1024) === 0 ? `${n / (1024 * 1024)} MiB` : `${n} bytes`;
}

export interface SessionExtras {
  /** Learn mode (`mcp-j learn`): write the learned policy here at the end. */
  learnOut?: string;
}

/** How long a server may take to leave once the client, after closing our input, signals mcp-j. */
const LAST_WORD_MS = 500;

export async function runSession(policy: Policy, command: string[], io: CommandIo, extras: SessionExtras = {}): Promise<number> {
  const jailId = randomBytes(6).toString("hex");
  const started = Date.now();
  const memoryBytes = parseSize(policy.limits.memory);

  // 1. Resources: a cgroup v2 subtree, or rlimits (said loudly), or a refusal under --strict.
  let resources: ResourcePlan;
  try {
    resources = await planResources(
      { memoryBytes, pids: policy.limits.pids, openFiles: policy.limits.openFiles, ...(policy.limits.cpus !== undefined ? { cpus: policy.limits.cpus } : {}) },
      { jailId, strict: policy.strict, env: io.env },
    );
  } catch (e) {
    if (e instanceof ResourceLimitUnavailableError || e instanceof RangeError) {
      io.stderr.write(`${e.message.startsWith("mcp-j:") ? "" : "mcp-j: "}${e.message}\n`);
      return EXIT.setup;
    }
    throw e;
  }
  // Said once the jail runs: a jail that cannot start gets one line, the reason it cannot.
  const resourceWarning = resources.kind === "rlimit" ? resources.weaker : resources.warning;
  // In a user manager's scope, the jail's cgroup exists once the helper runs there (below).
  let cgroup: JailCgroup | null = resources.kind === "cgroup" ? resources.cgroup : null;
  // A jail that cannot be planned or started: say why, leave nothing behind.
  const startFailed = async (e: unknown): Promise<number> => {
    await cgroup?.remove();
    if (!(e instanceof JailError)) throw e;
    say(io, e.message);
    return e.exitCode;
  };

  // Attribution, learn mode and pins (attribution.ts): a pin file that cannot be read stops here.
  let attr: Attribution;
  try {
    attr = new Attribution({ policy, command, say: (line) => say(io, line), ...(extras.learnOut !== undefined ? { learnOut: extras.learnOut } : {}) });
  } catch (e) {
    if (!(e instanceof PinFileError)) throw e;
    await cgroup?.remove();
    say(io, e.message);
    return EXIT.usage;
  }

  // 2. The plan.
  let prepared: PreparedJail;
  try {
    prepared = prepareJail({
      policy,
      command,
      cwd: io.cwd,
      env: io.env,
      rlimits: resources.rlimits,
      cgroup: cgroup?.path ?? null,
      // The jail's cgroup in the scope holds the limit: no watch.
      ...(resources.kind === "scope" ? { memoryWatch: null } : {}),
      // A resolver in every jail: a name looked up without network is refused, audited, explained.
      resolver: true,
      reportAllowed: attr.needsAllowed,
    });
  } catch (e) {
    return startFailed(e);
  }
  // The audit log before the jail: one that cannot be opened stops here, with nothing started.
  let audit: AuditSink;
  try {
    audit = openAuditSink(policy, jailId, prepared.secrets, (line) => say(io, line));
  } catch (e) {
    if (!(e instanceof AuditLogError)) throw e;
    await cgroup?.remove();
    say(io, e.message);
    return e.exitCode;
  }
  // 3. The jail, and the proxy between the client and it (messages queue in the pipes until the
  //    server reads them, so the proxy starts at once).
  // In a user manager's scope the jail's cgroup is made around the running helper, which then
  // gets its plan (cgroup/user-scope.ts); its events are watched from then on.
  let scopeCgroup: Promise<JailCgroup> | null = null;
  let jail: Jail;
  // Signals are taken from before the jail is spawned: one that came between the spawn and the
  // handlers' installation would find the default action and end mcp-j with the jail running. Node
  // runs a handler only after this synchronous stretch, by when `onSignal` forwards (below); if
  // the start fails, it stays a no-op while mcp-j cleans up and exits with the failure.
  let onSignal = (_sig: NodeJS.Signals): void => {};
  for (const s of ["SIGTERM", "SIGINT", "SIGHUP"] as const) process.on(s, (sig) => onSignal(sig));
  try {
    if (resources.kind === "scope") {
      const scope = resources.scope;
      let attached: (c: JailCgroup) => void = () => {};
      scopeCgroup = new Promise<JailCgroup>((r) => (attached = r));
      jail = startJail(prepared, { stdin: "pipe", stdout: "pipe", stderr: "inherit" }, {
        command: scope.wrapper,
        env: scope.env,
        planFor: async (pid) => {
          try {
            cgroup = await scope.attach(pid);
          } catch (e) {
            throw new JailError("E_SETUP", `cannot start the jail in a systemd user scope: ${(e as Error).message} (\`mcp-j doctor\` shows which cgroup route this machine takes)`, EXIT.setup);
          }
          attached(cgroup);
          return { ...prepared.plan, cgroup: cgroup.path };
        },
      });
    } else {
      jail = startJail(prepared, { stdin: "pipe", stdout: "pipe", stderr: "inherit" });
    }
  } catch (e) {
    return startFailed(e);
  }
  const network = prepared.network;
  const serverIn = jail.stdin;
  const serverOut = jail.stdout;
  if (serverIn === null || serverOut === null) throw new Error("jail started without stdio pipes");
  serverIn.on("error", () => {
    /* the server went away; its exit is handled below */
  });
  io.stdout.on("error", () => {
    /* the client went away: nothing left to answer */
  });
  const session = startProxy(
    { input: io.stdin, output: io.stdout },
    { input: serverIn, output: serverOut },
    {
      maxMessageBytes: parseSize(policy.proxy.maxMessageBytes),
      tools: { allow: policy.tools.allow, deny: policy.tools.deny },
      onEvent: (e) => {
        attr.proxyEvent(e);
        audit.proxy(e);
      },
      log: (line) => say(io, line),
      attribution: attr.enabled,
      toolResultNote: attr.noteFor,
      taskStarted: attr.taskStarted,
      ...(attr.gate !== null ? { toolGate: attr.gate } : {}),
      // A tool call's result waits until what the call did in the jail has been read (the
      // supervisor's reports travel apart from the server's output): its note, the pins.
      ...(attr.enabled ? { settle: reportsSettler(jail, attr, (line) => say(io, line)) } : {}),
    },
  );
  attr.bind(session, audit);

  // Layers this kernel cannot give: one short line each time the set grows (doctor has the details).
  let downgradesSeen = 0;
  const reportDowngrades = (bits: number): void => {
    const fresh = bits & ~downgradesSeen;
    downgradesSeen |= bits;
    if (fresh === 0) return;
    for (const n of downgradeNames(fresh)) {
      const d = DOWNGRADES[n];
      say(io, `this kernel lacks ${d.missing}: ${d.coveredBy !== null ? "another layer covers it" : "nothing covers it (--strict refuses)"}; \`mcp-j doctor\` for details`);
    }
  };
  jail.onReport((r) => {
    if (r.type === "downgrade") reportDowngrades(r.downgrades);
  });

  // The supervisor's decisions: every one to the audit log, each distinct denial once on stderr
  // (an address the jail's resolver handed out, by its name); its redirects to the egress proxy.
  const net = jailNetwork(policy.network.allow);
  const reportDenial = denialReporter((line) => say(io, line));
  const noteNetwork = policy.network.allow.length === 0 ? networkRefusalNote((line) => say(io, line)) : null;
  jail.onReport((r) => {
    if (r.type === "redirect") net.redirected(r);
    if (r.type !== "event") return;
    const e = decodeEvent(r.fields, r.lossy);
    if (e === null) return;
    const host = e.address !== undefined ? net.nameOf(e.address) : undefined;
    if (host !== undefined) e.host = host;
    audit.syscall(e, attr.syscall(e));
    reportDenial(e);
    noteNetwork?.(e);
  });

  // Limit events: every counter change to the audit log, one stderr line per kind. With
  // memory.oom.group=1 one OOM event kills every process of the jail and the kernel counts each
  // kill (oom_kill goes 1, 2, 3 as init and the server die, seen by fs.watch in one or several
  // reads): it is still one event, reported once.
  let oomKilled = false;
  let pidsReported = false;
  const outOfMemory = (): void => {
    if (oomKilled) return;
    oomKilled = true;
    say(io, `the server was killed: out of memory (limit ${mib(memoryBytes)}); raise it with --memory`);
  };
  // Without a cgroup the supervisor watches the whole jail's memory and kills it over the limit:
  // reported exactly as a cgroup's OOM kill (the same line, audit event, exit code).
  jail.onReport((r) => {
    if (r.type !== "memory") return;
    audit.cgroup({ type: "oom_kill", count: 1, limitBytes: r.limit });
    outOfMemory();
  });
  const watchCgroup = (c: JailCgroup): void =>
    c.onEvent((e) => {
      audit.cgroup(e);
      if (e.type === "oom_kill") {
        outOfMemory();
      } else if (e.type === "pids_max" && !pidsReported) {
        pidsReported = true;
        say(io, `the server hit its process limit (${policy.limits.pids}); raise it with --pids`);
      }
    });
  if (cgroup !== null) watchCgroup(cgroup);
  void scopeCgroup?.then(watchCgroup);

  let stoppedBy: string | null = null;
  let exited = false;
  const timers: NodeJS.Timeout[] = [];
  /** `sig` to the server `delayMs` from now, unless the jail has exited by then. */
  const signalLater = (sig: NodeJS.Signals, delayMs: number, why: string | null): void => {
    timers.push(
      setTimeout(() => {
        if (exited) return;
        if (why !== null) stoppedBy = why;
        jail.signal(sig);
      }, delayMs),
    );
  };
  /** SIGTERM `delayMs` from now, then SIGKILL as long again (100 ms at least). */
  const stop = (why: string, delayMs: number): void => {
    timers.push(
      setTimeout(() => {
        if (exited) return;
        signalLater("SIGTERM", 0, why);
        signalLater("SIGKILL", Math.max(delayMs, 100), null);
      }, delayMs),
    );
  };
  // The client is done: the server saw EOF on stdin (the proxy ended it); give it `grace` to leave.
  let inputEnded = false;
  void session.clientInputEnded.then(() => {
    inputEnded = true;
    stop("the client closed its input", policy.grace);
  });
  // The server closed stdout: it can no longer answer; stop it (ESCAPES 54).
  void session.serverOutputEnded.then(() => stop("it closed its output", 200));

  // A signal to mcp-j goes to the server, and a server still there `grace` later is killed. After
  // the client closed our input (or at a second signal) the client will not wait (the SDKs send
  // SIGTERM 2 s after closing it, SIGKILL 2 s later): then LAST_WORD_MS later, so that the pin
  // file, the learned policy and the audit log's last lines are written before the client's
  // SIGKILL. Once the jail has exited, a signal only cuts short the wait for a client that no
  // longer reads (below). The handlers stay until the process exits: removing the last one
  // restores the default action, and the next signal would end mcp-j before it had written them.
  let hurry = (): void => {};
  const hurried = new Promise<void>((r) => (hurry = r));
  let signalled = 0;
  const forward = (sig: NodeJS.Signals): void => {
    if (exited) return hurry();
    jail.signal(sig);
    // A server that ignores it is killed: `grace` later, or LAST_WORD_MS once the client closed
    // our input or signals again (each signal arms its own timer; the earliest wins).
    signalled += 1;
    const late = inputEnded || signalled > 1;
    const delayMs = late ? LAST_WORD_MS : policy.grace;
    signalLater("SIGKILL", delayMs, `it was still running ${delayMs} ms after mcp-j got ${sig}`);
  };
  onSignal = forward;

  // 4. Once the jail is up: the audit's start event, and the resolver and the egress proxy on the
  //    sockets the jail created inside its network namespace.
  let jailRan = false;
  try {
    const ready = await jail.ready;
    jailRan = true;
    if (resourceWarning !== undefined) io.stderr.write(`${resourceWarning}\n`);
    audit.write({
      type: "jail.start",
      jail: jailId,
      command,
      landlock_abi: ready.landlockAbi > 0 ? ready.landlockAbi : null,
      layers: {
        userns: true,
        landlock: ready.landlockAbi > 0 ? `abi ${ready.landlockAbi}` : false,
        seccomp: ready.seccomp,
        proc_subset_pid: ready.procSubset,
        resources: resources.kind === "cgroup" ? "cgroup v2" : resources.kind === "scope" ? "cgroup v2 (user scope)" : "rlimits",
        network: network ? "egress proxy, resolver, redirected connect()" : "none",
        // The layers this kernel could not give, each covered by another (the plan accepted them).
        downgrades: downgradeNames(ready.downgrades).join(",") || "none",
      },
    });
    reportDowngrades(ready.downgrades);
    await net.start(jail.takeSockets(), {
      onEvent: (e) => {
        audit.egress(e, attr.egress(e));
        if (e.type !== "dns" || e.decision !== "deny") return;
        if (noteNetwork !== null) noteNetwork({ lookup: e.name });
        else say(io, dnsRefusalLine(e) ?? "");
      },
      log: (line) => say(io, line),
    });
  } catch (e) {
    if (!(e instanceof JailError)) {
      say(io, `cannot start the egress proxy: ${(e as Error).message}`);
      jail.signal("SIGKILL");
    }
    /* a JailError is reported from the exit below */
  }

  const exit = await jail.exited;
  exited = true;
  // The counters as the jail left them: an OOM kill is known now even if its notification has not
  // been read yet, so the exit is reported as what it was.
  cgroup?.check();
  for (const t of timers) clearTimeout(t);
  // Every report has been read (the helper's control socket closed): the pin file and the learned
  // policy are written now, before the slower teardown, which a client in a hurry may cut short
  // with SIGKILL (the SDKs' close() does after a few seconds).
  attr.finish();
  const code = oomKilled ? EXIT.oom : exit.code;
  // Answer every pending request; a client that no longer reads must not keep us here forever.
  await Promise.race([
    session.serverGone(describeEnd(exit, stoppedBy, oomKilled ? `out of memory (limit ${mib(memoryBytes)})` : null)),
    new Promise((r) => setTimeout(r, 2000).unref()),
    hurried,
  ]);
  // After an OOM kill the supervisor reports its jail's death as its own ("supervisor died (exit
  // 137)"): the OOM line above already said what happened.
  if (exit.error !== null && !oomKilled) say(io, exit.error.message);
  await net.close();
  await cgroup?.remove();
  audit.write({
    type: "exit",
    jail: jailId,
    code: exit.serverCode ?? (exit.serverSignal === null ? code : null),
    signal: exit.serverSignal !== null ? signalName(exit.serverSignal) : null,
    reason: oomKilled ? "oom" : exit.error !== null ? (jailRan ? "supervisor_died" : "setup_failed") : stoppedBy !== null ? "stopped" : exit.serverSignal !== null ? "signaled" : "exited",
    duration_ms: Date.now() - started,
  });
  await audit.close();
  return code;
}

/** How the server ended, for the error every pending request gets. */
function describeEnd(exit: JailExit, stoppedBy: string | null, killedFor: string | null): string {
  if (killedFor !== null) return `the server was killed: ${killedFor}`;
  if (stoppedBy !== null) return `the server was stopped: ${stoppedBy}`;
  if (exit.error !== null) return exit.started ? exit.error.message : `the server could not start: ${exit.error.message}`;
  if (exit.serverSignal !== null) return `the server was killed by signal ${exit.serverSignal}`;
  return `the server exited with code ${exit.serverCode ?? exit.code}`;
}

function signalName(n: number): string {
  return Object.entries(constants.signals).find(([, v]) => v === n)?.[0] ?? `signal ${n}`;
}

/** How long a tool call's result waits for the jail's reports: the supervisor answers at once
 * unless it is stopped or dying, when waiting longer helps nobody. */
const SETTLE_BOUND_MS = 2000;

/** Waits for the jail's reports (Jail.settle) before a tool call's result goes on; when the
 * supervisor does not answer, says so once, and the call is taken as unverified (attribution). */
function reportsSettler(jail: Jail, attr: Attribution, say: (line: string) => void): (call: InFlightRequest) => Promise<boolean> {
  let lateSaid = false;
  return (call) =>
    jail.settle(SETTLE_BOUND_MS).then((ok) => {
      if (ok) return true;
      if (!lateSaid) {
        lateSaid = true;
        say(`the jail's supervisor did not answer within ${SETTLE_BOUND_MS} ms; a tool call's result went on without its last reports`);
      }
      attr.unsettled(call);
      return false;
    });
}
