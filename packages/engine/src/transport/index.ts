export { JailedStdioClientTransport, defaultMcpjPath, type JailedStdioServerParameters } from "./jailed-stdio.js";
