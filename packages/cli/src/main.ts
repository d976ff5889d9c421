// The mcp-j command: dispatch to a subcommand, or run a server in the jail.
import { EXIT, helpText } from "@mcp-j/engine/core";
import { doctorCommand } from "./doctor.js";
import { type CommandIo } from "./io.js";
import { auditCommand, learnCommand, pinCommand, policyCommand, unwrapCommand, wrapCommand } from "./commands/index.js";
import { runCommand, runNamedCommand } from "./run.js";

const VERSION = "0.1.0";

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
  const cio: CommandIo = io ?? { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd() };
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
      cio.stdout.write(`mcp-j ${VERSION}\n`);
      return EXIT.ok;
    case "doctor":
      return doctorCommand(rest, cio);
    case "run":
      return runNamedCommand(rest, cio);
    case "policy":
      return policyCommand(rest, cio);
    case "wrap":
      return wrapCommand(rest, cio);
    case "unwrap":
      return unwrapCommand(rest, cio);
    case "audit":
      return auditCommand(rest, cio);
    case "learn":
      return learnCommand(rest, cio);
    case "pin":
      return pinCommand(rest, cio);
    default:
      return runCommand(argv, cio);
  }
}
