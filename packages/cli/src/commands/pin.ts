// `mcp-j pin show FILE`                 the pinned tools and the changes awaiting acceptance
// `mcp-j pin accept FILE [TOOL...]`     accept the pending changes (all, or those tools'): they
//                                       become the pins, and --pin-enforce shows the tools again
import { resolve } from "node:path";
import { EXIT, PinFileError, acceptPending, readPinFile, writePinFile, type PinFile } from "@mcp-j/engine/core";
import { type CmdIo, usageError } from "./common.js";

const USAGE = `usage: mcp-j pin show FILE
       mcp-j pin accept FILE [TOOL...]
`;

function load(io: CmdIo, file: string): PinFile | number {
  try {
    const pins = readPinFile(file);
    if (pins === null) {
      io.stderr.write(`mcp-j: ${file}: no such pin file (mcp-j --pin ${file} -- CMD records one)\n`);
      return EXIT.failure;
    }
    return pins;
  } catch (e) {
    if (!(e instanceof PinFileError)) throw e;
    io.stderr.write(`mcp-j: ${e.message}\n`);
    return EXIT.usage;
  }
}

export async function pinCommand(argv: string[], io: CmdIo): Promise<number> {
  const [sub, fileArg, ...tools] = argv;
  if (sub === "--help" || sub === "-h" || sub === "help") {
    io.stdout.write(USAGE);
    return EXIT.ok;
  }
  if (sub !== "show" && sub !== "accept") {
    io.stderr.write(USAGE);
    return EXIT.usage;
  }
  if (fileArg === undefined || fileArg.startsWith("-")) return usageError(io, `pin ${sub} needs a FILE`);
  const file = resolve(io.cwd, fileArg);
  const pins = load(io, file);
  if (typeof pins === "number") return pins;
  if (sub === "show") {
    for (const [name, t] of Object.entries(pins.tools)) {
      const fp = t.footprint;
      const size = fp === null ? "footprint not recorded yet" : `footprint: ${fp.read.length} read, ${fp.write.length} write, ${fp.exec.length} exec, ${fp.net.length} host(s)`;
      io.stdout.write(`${JSON.stringify(name)}: pinned (${size})\n`);
    }
    for (const [name, p] of Object.entries(pins.pending)) {
      for (const c of p.changes) io.stdout.write(`${JSON.stringify(name)}: pending ${c.change}${c.detail !== undefined ? `: ${JSON.stringify(c.detail)}` : ""}\n`);
    }
    return EXIT.ok;
  }
  const unknown = tools.filter((t) => pins.pending[t] === undefined);
  if (unknown.length > 0) return usageError(io, `pin accept: no pending change for ${unknown.map((t) => JSON.stringify(t)).join(", ")}`);
  const { pins: accepted, accepted: names } = acceptPending(pins, tools);
  writePinFile(file, accepted);
  io.stdout.write(names.length === 0 ? "nothing to accept\n" : `accepted: ${names.map((n) => JSON.stringify(n)).join(", ")}\n`);
  return EXIT.ok;
}
