// JailedStdioClientTransport: an MCP client transport that runs the server in an MCP-J jail. It has
// the shape of the SDKs' StdioClientTransport (same parameters plus a policy) and works with the
// Client of SDK v1 (`@modelcontextprotocol/sdk`) and of SDK v2 (`@modelcontextprotocol/client`):
//
//   import { Client } from "@modelcontextprotocol/client";       // or "@modelcontextprotocol/sdk/client/index.js"
//   import { JailedStdioClientTransport } from "@mcp-j/transport";
//   const transport = new JailedStdioClientTransport({
//     command: "npx", args: ["-y", "@modelcontextprotocol/server-memory"],
//     policy: { extends: "npx", limits: { memory: "256M" }, tools: { deny: ["delete_*"] } },
//   });
//   await new Client({ name: "host", version: "1.0.0" }).connect(transport);
//
// start() writes the policy to a private temporary file (directory 0700, file 0600) and spawns
// `mcp-j [flags] --policy FILE -- command args...`; close() (or the server exiting) removes it.
// A policy file's relative paths are relative to the file, and this file is temporary: start()
// first makes every path of the policy (pin and audit files, grants, deny paths, secrets' files,
// extends files) absolute against the `cwd` given (or the host's current directory), where mcp-j
// runs and where its flags' relative paths point too.
//
// It spawns and frames by itself rather than wrapping an SDK's transport, so it depends on neither
// SDK. That matters for SDK v2 in `versionNegotiation: { mode: "auto" }`: for its own base
// StdioClientTransport the v2 Client probes `server/discover` on a disposable sibling process (a
// second spawn per connect: here, a second jail); for any other stdio-shaped transport it probes
// in place, on the process it then keeps. This transport is such another one: one jail per connect.
import { spawn, type ChildProcess, type IOType } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { PassThrough, type Stream } from "node:stream";
import { fileURLToPath } from "node:url";
import { PolicyError, PolicySchema, absolutizePaths, formatIssues, type PolicyInput } from "@mcp-j/engine/core";

/** A JSON-RPC message as the SDKs' transports carry it (both SDKs' message types fit). */
export type JsonRpcMessage = { jsonrpc: "2.0" } & { [key: string]: unknown };

export interface JailedStdioServerParameters {
  command: string;
  args?: string[];
  /** Environment of mcp-j (the jail's own environment comes from the policy: env.pass / env.set).
   * Default: the variables the SDKs pass by default (HOME, LOGNAME, PATH, SHELL, TERM, USER). */
  env?: Record<string, string>;
  cwd?: string;
  /** mcp-j's stderr (its one-line reports and the server's stderr): "inherit" by default. */
  stderr?: IOType | Stream | number;
  policy?: PolicyInput;
  /** Extra mcp-j run flags placed before `--policy` (e.g. ["--audit-log", "/var/log/x.jsonl"]). */
  flags?: string[];
  mcpjPath?: string;
}

/** The variables both MCP SDKs hand a stdio server by default. */
const DEFAULT_INHERITED_ENV = ["HOME", "LOGNAME", "PATH", "SHELL", "TERM", "USER"] as const;

export function defaultEnvironment(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const key of DEFAULT_INHERITED_ENV) {
    const value = process.env[key];
    // A value starting with "()" is a shell function export: never pass those on.
    if (value !== undefined && !value.startsWith("()")) env[key] = value;
  }
  return env;
}

/** packages/cli/bin/mcp-j.js relative to this file (same relative path in the repository and in
 * node_modules/@mcp-j). */
export function defaultMcpjPath(): string {
  return fileURLToPath(new URL("../../../cli/bin/mcp-j.js", import.meta.url));
}

// How long close() waits for mcp-j to leave after its stdin ends, then after SIGTERM, before SIGKILL.
const CLOSE_GRACE_MS = 2000;

export class JailedStdioClientTransport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JsonRpcMessage) => void;
  sessionId?: string;

  private child: ChildProcess | undefined;
  private tmpDir: string | undefined;
  private readonly params: JailedStdioServerParameters;
  private readonly stderrStream: PassThrough | null;
  private partial: Buffer[] = [];

  constructor(params: JailedStdioServerParameters) {
    const policy = params.policy ?? {};
    const r = PolicySchema.safeParse(policy);
    if (!r.success) throw new PolicyError("E_POLICY", formatIssues(r.error.issues, policy, "policy", undefined, PolicySchema));
    this.params = params;
    // As in the SDKs: a piped stderr is readable before start(), so no early line is lost.
    this.stderrStream = params.stderr === "pipe" || params.stderr === "overlapped" ? new PassThrough() : null;
  }

  /** The argv that start() runs (after the policy file is written): for logs and tests. */
  commandLine(policyFile: string): { command: string; args: string[] } {
    const mcpj = this.params.mcpjPath ?? defaultMcpjPath();
    const runArgs = [...(this.params.flags ?? []), "--policy", policyFile, "--", this.params.command, ...(this.params.args ?? [])];
    if (mcpj.endsWith(".js") || mcpj.endsWith(".mjs")) return { command: process.execPath, args: [mcpj, ...runArgs] };
    return { command: mcpj, args: runArgs };
  }

  async start(): Promise<void> {
    if (this.child !== undefined) throw new Error("JailedStdioClientTransport already started (Client.connect() starts it)");
    const mcpj = this.params.mcpjPath ?? defaultMcpjPath();
    if (mcpj.includes("/") && !existsSync(mcpj)) throw new Error(`mcp-j not found at ${mcpj}; pass mcpjPath`);
    const env = { ...defaultEnvironment(), ...this.params.env };
    const cwd = resolve(this.params.cwd ?? ".");
    // Relative to mcp-j's directory, not to the temporary file's (`~`: the HOME mcp-j gets).
    const policy = absolutizePaths(this.params.policy ?? {}, cwd, env);
    this.tmpDir = mkdtempSync(join(tmpdir(), "mcp-j-policy-"));
    const file = join(this.tmpDir, "policy.json");
    writeFileSync(file, JSON.stringify(policy), { mode: 0o600 });
    const { command, args } = this.commandLine(file);
    const child = spawn(command, args, {
      env,
      stdio: ["pipe", "pipe", this.stderrStream !== null ? "pipe" : (this.params.stderr ?? "inherit")],
      shell: false,
      cwd,
    });
    this.child = child;
    await new Promise<void>((resolve, reject) => {
      let spawned = false;
      child.on("error", (error) => {
        if (!spawned) {
          this.child = undefined;
          this.cleanup();
          reject(error);
        }
        this.onerror?.(error);
      });
      child.once("spawn", () => {
        spawned = true;
        resolve();
      });
    });
    child.on("close", () => {
      this.child = undefined;
      this.cleanup();
      this.onclose?.();
    });
    child.stdin?.on("error", (error) => this.onerror?.(error));
    child.stdout?.on("error", (error) => this.onerror?.(error));
    child.stdout?.on("data", (chunk: Buffer) => this.onData(chunk));
    if (this.stderrStream !== null) child.stderr?.pipe(this.stderrStream);
  }

  async send(message: JsonRpcMessage): Promise<void> {
    const stdin = this.child?.stdin;
    if (stdin === undefined || stdin === null) throw new Error("not connected");
    if (!stdin.write(`${JSON.stringify(message)}\n`)) await new Promise<void>((resolve) => stdin.once("drain", resolve));
  }

  /** Ends mcp-j's stdin (how MCP stdio asks a server to leave); SIGTERM, then SIGKILL, if it stays. */
  async close(): Promise<void> {
    const child = this.child;
    if (child === undefined) {
      this.cleanup();
      return;
    }
    const closed = new Promise<void>((resolve) => child.once("close", () => resolve()));
    const within = (ms: number): Promise<void> => Promise.race([closed, new Promise<void>((resolve) => setTimeout(resolve, ms).unref())]);
    child.stdin?.end();
    await within(CLOSE_GRACE_MS);
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      await within(CLOSE_GRACE_MS);
    }
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await closed;
    this.cleanup();
  }

  /** mcp-j's pid while running (a v2 Client reads `pid` and `stderr` to know a transport is stdio). */
  get pid(): number | null {
    return this.child?.pid ?? null;
  }

  get stderr(): Stream | null {
    return this.stderrStream ?? this.child?.stderr ?? null;
  }

  /** The temporary policy file's directory while running (undefined after cleanup). */
  get policyDir(): string | undefined {
    return this.tmpDir;
  }

  /** Splits stdout on "\n"; mcp-j's proxy has already validated every line it lets through. */
  private onData(chunk: Buffer): void {
    let start = 0;
    for (let nl = chunk.indexOf(0x0a); nl !== -1; nl = chunk.indexOf(0x0a, start)) {
      let line = chunk.subarray(start, nl);
      if (this.partial.length > 0) {
        line = Buffer.concat([...this.partial, line]);
        this.partial = [];
      }
      start = nl + 1;
      this.onLine(line.toString("utf8"));
    }
    if (start < chunk.length) this.partial.push(Buffer.from(chunk.subarray(start)));
  }

  private onLine(line: string): void {
    if (line.trim() === "") return;
    let message: unknown;
    try {
      message = JSON.parse(line);
    } catch (e) {
      this.onerror?.(new Error(`mcp-j wrote a line that is not JSON: ${(e as Error).message}`));
      return;
    }
    if (typeof message === "object" && message !== null && !Array.isArray(message)) this.onmessage?.(message as JsonRpcMessage);
    else this.onerror?.(new Error("mcp-j wrote a line that is not a JSON-RPC message"));
  }

  private cleanup(): void {
    if (this.tmpDir !== undefined) {
      rmSync(this.tmpDir, { recursive: true, force: true });
      this.tmpDir = undefined;
    }
  }
}
