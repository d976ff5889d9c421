// `mcp-j [flags] -- CMD ARGS`: resolve the policy, start the jail, put the JSON-RPC proxy between
// the client (our stdio) and the server (the jail's stdio), and leave with an exit code that says
// what happened.
import { parseRunArgs, resolvePolicy, PolicyError, type Policy, type RunArgs } from "@mcp-j/engine";
import { type CommandIo, say } from "./io.js";
import { runSession } from "./session.js";

export const EXIT_USAGE = 2;

export async function runCommand(argv: string[], io: CommandIo): Promise<number> {
  let args: RunArgs;
  let policy: Policy;
  try {
    args = parseRunArgs(argv);
    if (args.command.length === 0) {
      say(io, "no command given: mcp-j [options] -- COMMAND [ARGS...] (see mcp-j --help)");
      return EXIT_USAGE;
    }
    policy = await resolvePolicy({ policyFile: args.policyFile, profiles: args.profiles, overlay: args.overlay, cwd: io.cwd, env: io.env });
  } catch (e) {
    if (e instanceof PolicyError) {
      say(io, e.message);
      return EXIT_USAGE;
    }
    throw e;
  }
  return runSession(policy, args.command, io);
}
