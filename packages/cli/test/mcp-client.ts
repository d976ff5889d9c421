// The MCP SDK's client on a server started through the real `mcp-j` command (or bare, for the
// compatibility suite's baseline), with the server's stderr kept for assertions.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { mcpjBin, repoRoot } from "./helpers.js";

export interface Connected {
  client: Client;
  stderr: () => string;
  close: () => Promise<void>;
}

export interface ConnectOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/** Starts command (argv[0] and its arguments) exactly as given, and connects the SDK client. */
export async function connectCommand(command: string, args: string[], opts: ConnectOptions = {}): Promise<Connected> {
  const transport = new StdioClientTransport({
    command,
    args,
    stderr: "pipe",
    cwd: opts.cwd ?? repoRoot,
    env: (opts.env ?? process.env) as Record<string, string>,
  });
  let err = "";
  transport.stderr?.on("data", (d: Buffer) => (err += d.toString()));
  const client = new Client({ name: "mcpj-test", version: "1.0.0" });
  try {
    await client.connect(transport);
  } catch (e) {
    await transport.close().catch(() => {});
    throw new Error(`${(e as Error).message}\n--- stderr ---\n${err}`);
  }
  return { client, stderr: () => err, close: () => client.close() };
}

/** `mcp-j MCPJ_ARGS -- SERVER...` with the SDK client. */
export function connectMcpj(mcpjArgs: string[], server: string[], opts: ConnectOptions = {}): Promise<Connected> {
  return connectCommand(process.execPath, [mcpjBin, ...mcpjArgs, "--", ...server], opts);
}

/** The text of a tools/call result. */
export function textOf(r: unknown): string {
  return ((r as { content?: Array<{ type: string; text?: string }> }).content ?? []).map((c) => c.text ?? "").join("");
}
