// The mcp-j command: dispatch to a subcommand, or run a server in the jail. Only the run path is
// loaded up front: mcp-j's start-up is on every MCP server's start-up path, and the other commands
// (doctor, policy, wrap, unwrap, audit) are loaded when they are asked for (docs/design.md,
// "Start-up").
import { EXIT, helpText, traceMark, traceNodeStart } from "@mcp-j/engine/core";
import { type CommandIo } from "./io.js";
import { runCommand, runNamedCommand } from "./run.js";

const commands = () => import("./commands/index.js");

function usage(): string {
  return [
    "usage: mcp-j [options] -- COMMAND [ARGS...]   run an MCP server in a jail",
    "       mcp-j run NAME [options]               a server named in the servers file",
    "       mcp-j doctor [--json]                  what this machine's kernel supports",
    "       mcp-j policy show [options] [-- CMD]   the effective policy, fully resolved",
    "       mcp-j policy check FILE                validate a policy file",
    "       mcp-j policy diff OLD NEW              what changed between two policy files",
    "       mcp-j learn [--out FILE] [options] -- CMD   run, then write the least-privilege policy it used",
    "       mcp-j pin show|accept FILE [TOOL...]   the pins of --pin FILE; accept the changes found",
    "       mcp-j wrap [--client claude|vscode|cursor|FILE] [--dry-run]   run a client's servers through mcp-j",
    "       mcp-j unwrap [--client ...]            undo wrap",
    "       mcp-j audit summarize FILE             what each jail read, wrote, ran, contacted, was denied",
    "",
    "options:",
    helpText(),
    "",
  ].join("\n");
}

export async function main(argv: string[], io?: CommandIo): Promise<number> {
  traceNodeStart();
  traceMark("cli.main");
  const code = await dispatch(argv, io);
  traceMark("cli.done");
  return code;
}

async function dispatch(argv: string[], io?: CommandIo): Promise<number> {
  const cio: CommandIo = io ?? { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd() };
  // A client that closed its end of our stderr (EPIPE) must not end mcp-j: the lines for people
  // are lost then, the audit log and the exit code are not.
  cio.stderr.on("error", () => {});
  const [first, ...rest] = argv;
  switch (first) {
    case undefined:
      cio.stderr.write(usage());
      return EXIT.usage;
    case "--help":
    case "-h":
    case "help":
      cio.stdout.write(usage());
      return EXIT.ok;
    case "--version":
      cio.stdout.write(`mcp-j ${(await import("./cli-package.js")).cliPackage().version}\n`);
      return EXIT.ok;
    case "doctor":
      return (await import("./doctor.js")).doctorCommand(rest, cio);
    case "run":
      return runNamedCommand(rest, cio);
    case "policy":
      return (await commands()).policyCommand(rest, cio);
    case "wrap":
      return (await commands()).wrapCommand(rest, cio);
    case "unwrap":
      return (await commands()).unwrapCommand(rest, cio);
    case "audit":
      return (await commands()).auditCommand(rest, cio);
    case "learn":
      return (await commands()).learnCommand(rest, cio);
    case "pin":
      return (await commands()).pinCommand(rest, cio);
    default:
      return runCommand(argv, cio);
  }
}
