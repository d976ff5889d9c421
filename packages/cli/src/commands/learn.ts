// `mcp-j learn [--out FILE] [run flags] -- CMD ARGS`: run the server as `mcp-j [run flags] -- CMD`
// would, with the grants given and nothing wider, record what it touches (every allowed decision,
// each tied to the tool call in flight), and at its end write the least-privilege policy for what
// it used (engine policy/learn.ts). The client uses the server as usual meanwhile.
import { resolve } from "node:path";
import { EXIT } from "@mcp-j/engine/core";
import { type CommandIo, say } from "../io.js";
import { runCommand } from "../run.js";

export const DEFAULT_LEARN_OUT = "mcp-j.learned.json";

export async function learnCommand(argv: string[], io: CommandIo): Promise<number> {
  const rest: string[] = [];
  let out: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--") {
      rest.push(...argv.slice(i));
      break;
    }
    if (a === "--out") {
      const v = argv[i + 1];
      if (v === undefined || v === "--" || v === "") {
        say(io, "learn: --out needs a FILE (mcp-j learn --out FILE -- CMD ARGS)");
        return EXIT.usage;
      }
      out = v;
      i++;
    } else if (a.startsWith("--out=")) out = a.slice("--out=".length);
    else rest.push(a);
  }
  if (out === "") {
    say(io, "learn: --out needs a FILE (mcp-j learn --out FILE -- CMD ARGS)");
    return EXIT.usage;
  }
  return runCommand(rest, io, { learnOut: resolve(io.cwd, out ?? DEFAULT_LEARN_OUT) });
}
