// `mcp-j [flags] -- CMD ARGS`: resolve the policy, start the jail, put the JSON-RPC proxy between
// the client (our stdio) and the server (the jail's stdio), and leave with an exit code that says
// what happened.
import {
  EXIT,
  engineDir,
  helpText,
  installHostFiles,
  loadNamedServer,
  mergePolicyInputs,
  parseRunArgs,
  policyHostFiles,
  refuseHostFilesInGrants,
  resolveRun,
  serversHostFiles,
  PolicyError,
  traceMark,
  type HostFile,
  type ResolvedRun,
  type RunArgs,
} from "@mcp-j/engine/core";
import { type CommandIo, say } from "./io.js";
import { runSession, type SessionExtras } from "./session.js";

export async function runCommand(argv: string[], io: CommandIo, extras: SessionExtras = {}): Promise<number> {
  let args: RunArgs;
  let run: ResolvedRun;
  try {
    args = parseRunArgs(argv);
    if (args.command.length === 0) {
      say(io, "no command given: mcp-j [options] -- COMMAND [ARGS...] (see mcp-j --help)");
      return EXIT.usage;
    }
    run = await resolveRun({
      ...(args.policyFile !== undefined ? { policyFile: args.policyFile } : {}),
      profiles: args.profiles,
      overlay: args.overlay,
      cwd: io.cwd,
      env: io.env,
      command: args.command,
    });
    const learned: HostFile[] = extras.learnOut !== undefined ? [{ what: "the learned policy (--out)", path: extras.learnOut }] : [];
    refuseHostFilesInGrants(run.policy, ownFiles(run, io, [...learned, ...serversHostFiles({ env: io.env, cwd: io.cwd })]));
  } catch (e) {
    if (e instanceof PolicyError) return policyFailure(io, e);
    throw e;
  }
  traceMark("policy.resolved");
  if (run.note !== null) say(io, run.note);
  return runSession(run.policy, run.command, io, extras);
}

/** `mcp-j run NAME [flags]`: a server named in the servers file; flags override its policy. */
export async function runNamedCommand(argv: string[], io: CommandIo): Promise<number> {
  // --config FILE chooses the servers file; everything else is a run flag.
  const rest: string[] = [];
  let config: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === "--config" && i + 1 < argv.length) config = argv[++i];
    else if (a.startsWith("--config=")) config = a.slice("--config=".length);
    else rest.push(a);
  }
  const name = rest.shift();
  if (name === "--help" || name === "-h") {
    io.stdout.write(`usage: mcp-j run NAME [--config FILE] [options]\nStarts the server NAME of the servers file ($XDG_CONFIG_HOME/mcp-j/servers.yaml, $MCPJ_CONFIG, or --config FILE); the options override its policy:\n${helpText()}\n`);
    return EXIT.ok;
  }
  if (name === undefined || name.startsWith("-")) {
    say(io, "usage: mcp-j run NAME [--config FILE] [options] (NAME from the servers file, see README; mcp-j run --help)");
    return EXIT.usage;
  }
  let run: ResolvedRun;
  try {
    const server = loadNamedServer(name, { env: io.env, cwd: io.cwd, ...(config !== undefined ? { config } : {}) });
    const args = parseRunArgs(rest);
    if (args.command.length > 0) {
      say(io, `mcp-j run ${name} takes no command: it comes from the servers file`);
      return EXIT.usage;
    }
    const policyFile = args.policyFile ?? server.policyFile;
    run = await resolveRun({
      ...(policyFile !== undefined ? { policyFile } : {}),
      profiles: args.profiles,
      overlay: mergePolicyInputs(server.policy ?? {}, args.overlay),
      cwd: io.cwd,
      env: io.env,
      command: server.command,
    });
    refuseHostFilesInGrants(run.policy, ownFiles(run, io, serversHostFiles({ env: io.env, cwd: io.cwd, ...(config !== undefined ? { config } : {}) })));
  } catch (e) {
    if (e instanceof PolicyError) return policyFailure(io, e);
    throw e;
  }
  if (run.note !== null) say(io, run.note);
  return runSession(run.policy, run.command, io);
}

/** The files mcp-j reads or writes on the host for this run (none may be in a writable grant). */
function ownFiles(run: ResolvedRun, io: CommandIo, more: HostFile[]): HostFile[] {
  return [
    ...policyHostFiles(run.policy, io.cwd),
    ...run.files.map((path) => ({ what: "the policy file", path })),
    ...installHostFiles(process.argv[1], engineDir()),
    ...more,
  ];
}

/** One stderr line per problem, and the PolicyError's exit code. */
function policyFailure(io: CommandIo, e: PolicyError): number {
  for (const line of e.problems.length > 0 ? e.problems : [e.message]) say(io, line);
  return e.exitCode;
}
