// Shared bits of the subcommands: the io shape, error → message and exit code (engine's EXIT).
import type { Writable } from "node:stream";
import { EXIT, PolicyError } from "@mcp-j/engine/core";

export interface CmdIo {
  stdout: Writable;
  stderr: Writable;
  env: NodeJS.ProcessEnv;
  cwd: string;
}

/** Prints an error and returns the exit code: the PolicyError's (EXIT.usage), EXIT.failure otherwise. */
export function fail(io: CmdIo, e: unknown): number {
  if (e instanceof PolicyError) {
    for (const line of e.problems) io.stderr.write(`mcp-j: ${line}\n`);
    return e.exitCode;
  }
  const err = e as NodeJS.ErrnoException;
  io.stderr.write(`mcp-j: ${err && err.message ? err.message : String(e)}\n`);
  return EXIT.failure;
}

export function usageError(io: CmdIo, msg: string): number {
  io.stderr.write(`mcp-j: ${msg} (see \`mcp-j --help\`)\n`);
  return EXIT.usage;
}
