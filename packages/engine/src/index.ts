// @mcp-j/engine: policy → compiled plan → jail → events. The CLI and library hosts use this API.
export * from "./policy/index.js";
export * from "./jail/index.js";
export { EGRESS_PORT, prepareJail, startJail, type PrepareOptions, type PreparedJail } from "./launch.js";
