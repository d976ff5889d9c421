// @mcp-j/engine: policy → compiled plan → jail → events. The CLI and library hosts use this API.
export * from "./core.js";
export * from "./transport/index.js";
