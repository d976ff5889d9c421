// Shared bits of the subcommands: the io shape, exit codes, error → message mapping.
import type { Writable } from "node:stream";
import { PolicyError } from "@mcp-j/engine/core";

export interface CmdIo {
  stdout: Writable;
  stderr: Writable;
  env: NodeJS.ProcessEnv;
  cwd: string;
}

export const EXIT_OK = 0;
export const EXIT_FAIL = 1;
export const EXIT_USAGE = 2;

/** Prints an error and returns the exit code: 2 for usage/validation errors, 1 otherwise. */
export function fail(io: CmdIo, e: unknown): number {
  if (e instanceof PolicyError) {
    for (const line of e.problems) io.stderr.write(`mcp-j: ${line}\n`);
    return e.code === "E_USAGE" || e.code === "E_POLICY" || e.code === "E_POLICY_FILE" ? EXIT_USAGE : EXIT_FAIL;
  }
  const err = e as NodeJS.ErrnoException;
  io.stderr.write(`mcp-j: ${err && err.message ? err.message : String(e)}\n`);
  return EXIT_FAIL;
}

export function usageError(io: CmdIo, msg: string): number {
  io.stderr.write(`mcp-j: ${msg} (see \`mcp-j --help\`)\n`);
  return EXIT_USAGE;
}
