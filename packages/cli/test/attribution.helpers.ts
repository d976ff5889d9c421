// Shared by the attribution, learn and pin tests: directories and files a jail (nobody, when the
// tests run as root) can use, the audit log's lines, and a run of mcp-j driven by the SDK client.
import assert from "node:assert/strict";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { mcpjBin, repoRoot, waitFor } from "./helpers.js";

/** A directory under `root` the jail can read and write. */
export function jailDir(root: string, name: string): string {
  const d = join(root, name);
  mkdirSync(d, { recursive: true });
  chmodSync(d, 0o777);
  return d;
}

/** A file the jail can read. */
export function jailFile(path: string, text: string): string {
  writeFileSync(path, text);
  chmodSync(path, 0o644);
  return path;
}

export type AuditLine = Record<string, unknown> & { type: string };

/** The audit log's events (none when there is no log). */
export function auditLines(path: string): AuditLine[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, "utf8")
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l) as AuditLine);
}

/** One run of mcp-j (`args`, then `-- command`) driven by the SDK v1 client: `use` gets the
 * connected client; returns once mcp-j has exited (it writes the learned policy and the pin file
 * then), with what it said on stderr. */
export async function clientSession<T>(args: string[], command: string[], use: (client: Client) => Promise<T>): Promise<{ value: T; stderr: string }> {
  const transport = new StdioClientTransport({ command: process.execPath, args: [mcpjBin, ...args, "--", ...command], stderr: "pipe", cwd: repoRoot });
  let stderr = "";
  transport.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
  const client = new Client({ name: "mcpj-test", version: "1.0.0" });
  await client.connect(transport);
  const pid = transport.pid;
  let value: T;
  try {
    value = await use(client);
  } finally {
    await client.close();
  }
  const gone = await waitFor(() => {
    try {
      if (pid !== null) process.kill(pid, 0);
      return pid === null;
    } catch {
      return true;
    }
  }, 20_000);
  assert.ok(gone, "mcp-j exited after the client closed");
  return { value, stderr };
}

/** A task-augmented tools/call, followed to its end (SDK v1's experimental tasks): its result's
 * text and _meta, or the error the stream ended with. */
export async function callAsTask(client: Client, name: string, args: Record<string, unknown>): Promise<{ text: string; isError: boolean; meta: Record<string, unknown> | undefined }> {
  // The SDK calls a tool as a task once tools/list has said it takes one.
  await client.listTools();
  let out: { text: string; isError: boolean; meta: Record<string, unknown> | undefined } = { text: "", isError: true, meta: undefined };
  for await (const m of client.experimental.tasks.callToolStream({ name, arguments: args })) {
    if (m.type === "result") {
      const r = m.result as { content?: Array<{ text?: string }>; isError?: boolean; _meta?: Record<string, unknown> };
      out = { text: (r.content ?? []).map((c) => c.text ?? "").join(""), isError: r.isError === true, meta: r._meta };
    } else if (m.type === "error") out = { text: String(m.error.message), isError: true, meta: undefined };
  }
  return out;
}
