// What a command needs from the outside world, passed in so commands are testable in-process.
import type { Readable, Writable } from "node:stream";

export interface CommandIo {
  stdin: Readable;
  stdout: Writable;
  stderr: Writable;
  env: NodeJS.ProcessEnv;
  cwd: string;
}

/** One human line on stderr, prefixed so it is told apart from the server's own stderr (lines
 * from the layers that carry their own "mcp-j..." prefix are written as they are). */
export function say(io: Pick<CommandIo, "stderr">, line: string): void {
  io.stderr.write(line.startsWith("mcp-j") ? `${line}\n` : `mcp-j: ${line}\n`);
}
