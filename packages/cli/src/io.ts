// What a command needs from the outside world, passed in so commands are testable in-process.
import type { Readable, Writable } from "node:stream";

export interface CommandIo {
  stdin: Readable;
  stdout: Writable;
  stderr: Writable;
  env: NodeJS.ProcessEnv;
  cwd: string;
}

/** One human line on stderr, prefixed so it is told apart from the server's own stderr. */
export function say(io: Pick<CommandIo, "stderr">, line: string): void {
  io.stderr.write(`mcp-j: ${line}\n`);
}
