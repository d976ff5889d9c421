// @mcp-j/engine: policy → compiled plan → jail → events. The CLI and library hosts use this API;
// the MCP client transport is @mcp-j/transport.
export * from "./core.js";
