// A TypeScript/JavaScript MCP host using MCP-J as a library: the SDK's Client talks to a real
// server (server-everything, a dev dependency of this repository) running in the jail.
// Run it from the repository root after `npm install`:  node examples/library-client.mjs
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { JailedStdioClientTransport } from "@mcp-j/transport";

const modules = join(dirname(fileURLToPath(import.meta.url)), "..", "node_modules");
const transport = new JailedStdioClientTransport({
  command: "node",
  args: [join(modules, "@modelcontextprotocol/server-everything/dist/index.js"), "stdio"],
  // The policy, as in a policy file: the server's code read-only, 256 MiB, one tool hidden.
  policy: {
    filesystem: { ro: [modules] },
    limits: { memory: "256M" },
    tools: { deny: ["get-env"] },
  },
});
const client = new Client({ name: "example-host", version: "1.0.0" });
await client.connect(transport);
const { tools } = await client.listTools();
console.log("tools:", tools.map((t) => t.name).join(", "));
const r = await client.callTool({ name: "echo", arguments: { message: "hello from a jailed server" } });
console.log("echo:", r.content?.[0]?.text);
await client.close();
