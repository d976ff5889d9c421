// JailedStdioClientTransport: a drop-in for the MCP SDK's StdioClientTransport that runs the server in
// an MCP-J jail. Same parameters plus a policy:
//
//   import { Client } from "@modelcontextprotocol/sdk/client/index.js";
//   import { JailedStdioClientTransport } from "@mcp-j/engine";
//   const transport = new JailedStdioClientTransport({
//     command: "npx", args: ["-y", "@modelcontextprotocol/server-memory"],
//     policy: { extends: "npx", limits: { memory: "256M" }, tools: { deny: ["delete_*"] } },
//   });
//   const client = new Client({ name: "host", version: "1.0.0" });
//   await client.connect(transport);
//
// start() writes the policy to a private temporary file (directory 0700, file 0600) and launches
// `mcp-j --policy FILE -- command args...` through the SDK's StdioClientTransport; close() (or the
// server exiting) removes the file. mcp-j is, by default, this repository's packages/cli/bin/mcp-j.js
// (node_modules/@mcp-j/cli/bin/mcp-j.js once installed) run with the current Node; pass mcpjPath to
// use another (a path ending in .js is run with process.execPath, anything else is executed directly).
import { mkdtempSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Stream } from "node:stream";
import type { IOType } from "node:child_process";
import { StdioClientTransport, getDefaultEnvironment } from "@modelcontextprotocol/sdk/client/stdio.js";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import { PolicySchema, type PolicyInput } from "../policy/schema.js";
import { PolicyError, formatIssues } from "../policy/errors.js";

export interface JailedStdioServerParameters {
  command: string;
  args?: string[];
  /** Environment of mcp-j (the jail's own environment comes from the policy: env.pass / env.set). */
  env?: Record<string, string>;
  cwd?: string;
  stderr?: IOType | Stream | number;
  policy?: PolicyInput;
  /** Extra mcp-j run flags placed before `--policy` (e.g. ["--audit-log", "/var/log/x.jsonl"]). */
  flags?: string[];
  mcpjPath?: string;
}

/** packages/cli/bin/mcp-j.js relative to this file (same relative path in the repo and in node_modules/@mcp-j). */
export function defaultMcpjPath(): string {
  return fileURLToPath(new URL("../../../../cli/bin/mcp-j.js", import.meta.url));
}

export class JailedStdioClientTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;
  sessionId?: string;

  private inner?: StdioClientTransport;
  private tmpDir?: string;
  private readonly params: JailedStdioServerParameters;

  constructor(params: JailedStdioServerParameters) {
    const policy = params.policy ?? {};
    const r = PolicySchema.safeParse(policy);
    if (!r.success) throw new PolicyError("E_POLICY", formatIssues(r.error.issues, policy, "policy", undefined, PolicySchema));
    this.params = params;
  }

  /** The argv that start() runs (after the policy file is written): for logs and tests. */
  commandLine(policyFile: string): { command: string; args: string[] } {
    const mcpj = this.params.mcpjPath ?? defaultMcpjPath();
    const runArgs = [...(this.params.flags ?? []), "--policy", policyFile, "--", this.params.command, ...(this.params.args ?? [])];
    if (mcpj.endsWith(".js") || mcpj.endsWith(".mjs")) return { command: process.execPath, args: [mcpj, ...runArgs] };
    return { command: mcpj, args: runArgs };
  }

  async start(): Promise<void> {
    if (this.inner) throw new Error("JailedStdioClientTransport already started");
    const mcpj = this.params.mcpjPath ?? defaultMcpjPath();
    if (mcpj.includes("/") && !existsSync(mcpj)) throw new Error(`mcp-j not found at ${mcpj}; pass mcpjPath`);
    this.tmpDir = mkdtempSync(join(tmpdir(), "mcp-j-policy-"));
    const file = join(this.tmpDir, "policy.json");
    writeFileSync(file, JSON.stringify(this.params.policy ?? {}), { mode: 0o600 });
    const { command, args } = this.commandLine(file);
    const sp: ConstructorParameters<typeof StdioClientTransport>[0] = { command, args, env: this.params.env ?? getDefaultEnvironment() };
    if (this.params.cwd !== undefined) sp.cwd = this.params.cwd;
    if (this.params.stderr !== undefined) sp.stderr = this.params.stderr;
    const inner = new StdioClientTransport(sp);
    this.inner = inner;
    inner.onmessage = (m) => this.onmessage?.(m);
    inner.onerror = (e) => this.onerror?.(e);
    inner.onclose = () => {
      this.cleanup();
      this.onclose?.();
    };
    try {
      await inner.start();
    } catch (e) {
      this.cleanup();
      throw e;
    }
  }

  async send(message: JSONRPCMessage): Promise<void> {
    if (!this.inner) throw new Error("not connected");
    return this.inner.send(message);
  }

  async close(): Promise<void> {
    try {
      await this.inner?.close();
    } finally {
      this.cleanup();
    }
  }

  get pid(): number | null {
    return this.inner?.pid ?? null;
  }

  get stderr(): Stream | null {
    return this.inner?.stderr ?? null;
  }

  /** The temporary policy file's directory while running (undefined after cleanup). */
  get policyDir(): string | undefined {
    return this.tmpDir;
  }

  private cleanup(): void {
    if (this.tmpDir) {
      rmSync(this.tmpDir, { recursive: true, force: true });
      this.tmpDir = undefined;
    }
  }
}
