// An MCP server written with the MCP TypeScript SDK 1.x (McpServer, zod schemas), as most servers
// are: two tools, over stdio.
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { z } from "zod";

const server = new McpServer({ name: "sdk1-server", version: "1.0.0" });
server.tool("add", { a: z.number(), b: z.number() }, async ({ a, b }) => ({ content: [{ type: "text", text: String(a + b) }] }));
server.tool("upper", { text: z.string() }, async ({ text }) => ({ content: [{ type: "text", text: text.toUpperCase() }] }));
await server.connect(new StdioServerTransport());
