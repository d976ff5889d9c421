// A process that forwards bytes between its stdio and a child's without looking at them: the floor
// for any proxy that runs as its own process (what bench/proxy.bench.mjs calls "fwd").
//   node bench/forwarder.mjs COMMAND ARGS...
import { spawn } from "node:child_process";

const [command, ...args] = process.argv.slice(2);
const child = spawn(command, args, { stdio: ["pipe", "pipe", "inherit"] });
process.stdin.pipe(child.stdin);
child.stdout.pipe(process.stdout);
child.on("exit", (code, signal) => process.exit(code ?? (signal !== null ? 128 : 1)));
