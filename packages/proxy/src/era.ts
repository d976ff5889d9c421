// Which MCP era a message belongs to. Revisions up to 2025-11-25 open a session with `initialize`;
// from 2026-07-28 on there is no handshake and each request names its revision in
// `params._meta["io.modelcontextprotocol/protocolVersion"]`. Revision names are dates, so the
// modern ones are those that sort at or after the first of them.
import { isJsonObject, type JsonObject } from "./jsonrpc.js";

export const FIRST_MODERN_PROTOCOL_VERSION = "2026-07-28";
export const PROTOCOL_VERSION_META_KEY = "io.modelcontextprotocol/protocolVersion";

export function isModernVersion(version: string | null): boolean {
  return version !== null && version >= FIRST_MODERN_PROTOCOL_VERSION;
}

/** The revision a request names in its own `_meta`, or null. */
export function requestProtocolVersion(raw: JsonObject): string | null {
  const params = raw["params"];
  if (!isJsonObject(params)) return null;
  const meta = params["_meta"];
  if (!isJsonObject(meta)) return null;
  const version = meta[PROTOCOL_VERSION_META_KEY];
  return typeof version === "string" ? version : null;
}
