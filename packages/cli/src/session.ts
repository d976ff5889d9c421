// One jailed session: the jail, the JSON-RPC proxy between the client and the server, and the
// lifetime rules (DESIGN.md "Lifetime is bound both ways"; issue 5 "Lifetime"):
//   client closes stdin → server's stdin closed → SIGTERM after `grace` → SIGKILL after `grace`;
//   server closes stdout or dies → every pending request answered with the cause → exit;
//   mcp-j gets SIGTERM/SIGINT/SIGHUP → forwarded to the server.
import { randomBytes } from "node:crypto";
import { startProxy, type ProxyEvent } from "@mcp-j/proxy";
import { JailError, parseSize, prepareJail, startJail, type JailExit, type Policy, type PreparedJail } from "@mcp-j/engine";
import { type CommandIo, say } from "./io.js";

/** Exit codes of mcp-j itself (the server's own code otherwise; 128+N when it died of signal N). */
export const EXIT_CODES = {
  usage: 2,
  /** The jail was killed for running out of memory at its limit. */
  oom: 122,
  setup: 125,
  notExecutable: 126,
  notFound: 127,
} as const;

/** How the server ended, for the error every pending request gets. */
function describeEnd(exit: JailExit, stoppedBy: string | null): string {
  if (stoppedBy !== null) return `the server was stopped: ${stoppedBy}`;
  if (exit.error !== null) return `the server could not start: ${exit.error.message}`;
  if (exit.serverSignal !== null) return `the server was killed by signal ${exit.serverSignal}`;
  return `the server exited with code ${exit.serverCode ?? exit.code}`;
}

export async function runSession(policy: Policy, command: string[], io: CommandIo): Promise<number> {
  const jailId = randomBytes(6).toString("hex");
  let prepared: PreparedJail;
  try {
    prepared = prepareJail({ policy, command, cwd: io.cwd, env: io.env });
  } catch (e) {
    if (e instanceof JailError) {
      say(io, e.message);
      return e.exitCode;
    }
    throw e;
  }

  const jail = startJail(prepared, { stdin: "pipe", stdout: "pipe", stderr: "inherit" });
  const serverIn = jail.stdin;
  const serverOut = jail.stdout;
  if (serverIn === null || serverOut === null) throw new Error("jail started without stdio pipes");
  serverIn.on("error", () => {
    /* the server went away; its exit is handled below */
  });
  io.stdout.on("error", () => {
    /* the client went away: nothing left to answer */
  });

  const onEvent = (e: ProxyEvent): void => {
    void e;
    void jailId;
  };
  const session = startProxy(
    { input: io.stdin, output: io.stdout },
    { input: serverIn, output: serverOut },
    {
      maxMessageBytes: parseSize(policy.proxy.maxMessageBytes),
      tools: { allow: policy.tools.allow, deny: policy.tools.deny },
      onEvent,
      log: (line) => say(io, line),
    },
  );

  let stoppedBy: string | null = null;
  let exited = false;
  const timers: NodeJS.Timeout[] = [];
  const stop = (why: string, first: NodeJS.Signals, delayMs: number): void => {
    timers.push(
      setTimeout(() => {
        if (exited) return;
        stoppedBy = why;
        jail.signal(first);
        timers.push(
          setTimeout(() => {
            if (!exited) jail.signal("SIGKILL");
          }, Math.max(delayMs, 100)),
        );
      }, delayMs),
    );
  };

  // The client is done: the server saw EOF on stdin (the proxy ended it); give it `grace` to leave.
  void session.clientInputEnded.then(() => stop("the client closed its input", "SIGTERM", policy.grace));
  // The server closed stdout: it can no longer answer; stop it (ESCAPES 54).
  void session.serverOutputEnded.then(() => stop("it closed its output", "SIGTERM", 200));

  const forward = (sig: NodeJS.Signals): void => jail.signal(sig);
  const signals: NodeJS.Signals[] = ["SIGTERM", "SIGINT", "SIGHUP"];
  for (const s of signals) process.on(s, forward);

  jail.ready.catch(() => {
    /* reported from the exit below */
  });

  const exit = await jail.exited;
  exited = true;
  for (const t of timers) clearTimeout(t);
  for (const s of signals) process.off(s, forward);
  await session.serverGone(describeEnd(exit, stoppedBy));
  if (exit.error !== null) say(io, exit.error.message);
  return exit.code;
}
