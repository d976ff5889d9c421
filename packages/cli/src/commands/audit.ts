// `mcp-j audit summarize [--json] FILE...`: per jail, what the server read, wrote, executed and
// contacted, what was denied, tools, limits and how it ended. Give FILE.1 before FILE to include the
// rotated part.
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { EXIT, summarizeAudit, formatAuditSummary } from "@mcp-j/engine/core";
import { type CmdIo, usageError } from "./common.js";

const USAGE = "usage: mcp-j audit summarize [--json] FILE...\n";

export async function auditCommand(argv: string[], io: CmdIo): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === "--help" || sub === "-h" || sub === "help") {
    io.stdout.write(USAGE);
    return EXIT.ok;
  }
  if (sub !== "summarize") {
    io.stderr.write(USAGE);
    return EXIT.usage;
  }
  const json = rest.includes("--json");
  const files = rest.filter((a) => a !== "--json");
  const bad = files.find((f) => f.startsWith("-"));
  if (bad) return usageError(io, `audit summarize: unknown flag ${JSON.stringify(bad)}`);
  if (files.length === 0) return usageError(io, "audit summarize needs a FILE");
  const lines: string[] = [];
  for (const f of files) {
    try {
      lines.push(...readFileSync(resolve(io.cwd, f), "utf8").split("\n"));
    } catch (e) {
      io.stderr.write(`mcp-j: audit summarize: cannot read ${f} (${(e as NodeJS.ErrnoException).code ?? "error"})\n`);
      return EXIT.failure;
    }
  }
  const sum = summarizeAudit(lines);
  io.stdout.write(json ? JSON.stringify(sum, null, 2) + "\n" : formatAuditSummary(sum));
  return EXIT.ok;
}
