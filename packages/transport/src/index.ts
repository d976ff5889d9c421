// @mcp-j/transport: the MCP client transport that runs a server in an MCP-J jail. Its own package,
// so that neither the engine nor the mcp-j command depend on an MCP SDK.
export { JailedStdioClientTransport, defaultMcpjPath, defaultEnvironment } from "./jailed-stdio.js";
export type { JailedStdioServerParameters, JsonRpcMessage } from "./jailed-stdio.js";
export { PolicyError } from "@mcp-j/engine/core";
