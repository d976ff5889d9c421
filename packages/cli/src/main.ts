// The mcp-j command: dispatch to a subcommand, or run a server in the jail.
import { helpText } from "@mcp-j/engine";
import { doctorCommand } from "./doctor.js";
import { type CommandIo } from "./io.js";
import { runCommand } from "./run.js";

const VERSION = "0.1.0";

function usage(): string {
  return [
    "usage: mcp-j [options] -- COMMAND [ARGS...]   run an MCP server in a jail",
    "       mcp-j doctor                           what this machine's kernel supports",
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
      return 2;
    case "--help":
    case "-h":
    case "help":
      cio.stdout.write(usage());
      return 0;
    case "--version":
      cio.stdout.write(`mcp-j ${VERSION}\n`);
      return 0;
    case "doctor":
      return doctorCommand(rest, cio);
    default:
      return runCommand(argv, cio);
  }
}
