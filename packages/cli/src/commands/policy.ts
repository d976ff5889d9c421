// `mcp-j policy show [run flags] [-- CMD ARGS]`  the effective, fully-resolved policy as JSON
// `mcp-j policy check FILE...`                   validate policy files (exit 0 valid, 2 invalid)
// `mcp-j policy schema`                          the JSON Schema for editors
import { parseRunArgs, resolvePolicy, resolveRun, checkPolicyFile, policyJsonSchemaText } from "@mcp-j/engine/core";
import { type CmdIo, EXIT_OK, EXIT_USAGE, fail, usageError } from "./common.js";

const USAGE = `usage: mcp-j policy show [run flags] [-- COMMAND ARGS...]
       mcp-j policy check FILE...
       mcp-j policy schema
`;

export async function policyCommand(argv: string[], io: CmdIo): Promise<number> {
  const [sub, ...rest] = argv;
  switch (sub) {
    case "show": {
      try {
        const args = parseRunArgs(rest);
        // With a command: exactly what a run would start with (profiles inferred, command grants).
        const policy =
          args.command.length > 0
            ? (await resolveRun({ ...args, cwd: io.cwd, env: io.env })).policy
            : await resolvePolicy({ ...args, profiles: args.profiles.filter((p) => p !== "none"), cwd: io.cwd, env: io.env });
        io.stdout.write(JSON.stringify(policy, null, 2) + "\n");
        return EXIT_OK;
      } catch (e) {
        return fail(io, e);
      }
    }
    case "check": {
      if (rest.length === 0) return usageError(io, "policy check needs a FILE");
      let status = EXIT_OK;
      for (const f of rest) {
        try {
          await checkPolicyFile(f, { cwd: io.cwd, env: io.env });
          io.stdout.write(`${f}: ok\n`);
        } catch (e) {
          status = Math.max(status, fail(io, e));
        }
      }
      return status;
    }
    case "schema":
      io.stdout.write(policyJsonSchemaText());
      return EXIT_OK;
    case "--help":
    case "-h":
    case "help":
      io.stdout.write(USAGE);
      return EXIT_OK;
    default:
      io.stderr.write(USAGE);
      return EXIT_USAGE;
  }
}
