// `mcp-j policy show [run flags] [-- CMD ARGS]`  the effective, fully-resolved policy as JSON
// `mcp-j policy check FILE...`                   validate policy files as a run would (exit 0 valid, 2 invalid)
// `mcp-j policy schema`                          the JSON Schema for editors
// `mcp-j policy diff OLD NEW`                    what changed between two effective policies
//                                                (exit 0 the same, 1 different, like diff(1))
import { EXIT, parseRunArgs, resolvePolicy, resolveRun, checkPolicyFile, policyJsonSchemaText, diffPolicies, formatPolicyDiff } from "@mcp-j/engine/core";
import { type CmdIo, fail, usageError } from "./common.js";

const USAGE = `usage: mcp-j policy show [run flags] [-- COMMAND ARGS...]
       mcp-j policy check FILE...
       mcp-j policy schema
       mcp-j policy diff OLD NEW
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
        return EXIT.ok;
      } catch (e) {
        return fail(io, e);
      }
    }
    case "check": {
      if (rest.length === 0) return usageError(io, "policy check needs a FILE");
      let status: number = EXIT.ok;
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
    case "diff": {
      if (rest.length !== 2 || rest.some((a) => a.startsWith("-"))) return usageError(io, "policy diff needs two files: OLD NEW");
      try {
        const [before, after] = await Promise.all(rest.map((f) => resolvePolicy({ policyFile: f, profiles: [], overlay: {}, cwd: io.cwd, env: io.env })));
        const changes = diffPolicies(before!, after!);
        io.stdout.write(formatPolicyDiff(changes));
        return changes.length === 0 ? EXIT.ok : EXIT.failure;
      } catch (e) {
        return fail(io, e);
      }
    }
    case "schema":
      io.stdout.write(policyJsonSchemaText());
      return EXIT.ok;
    case "--help":
    case "-h":
    case "help":
      io.stdout.write(USAGE);
      return EXIT.ok;
    default:
      io.stderr.write(USAGE);
      return EXIT.usage;
  }
}
