// Keys read without regard to case. Some JSON decoders match an object's keys to the fields they
// expect case-insensitively: Go's encoding/json (which the Go MCP SDK used that way before 1.3.1,
// CVE-2026-27896; it also folds "ſ" to "s" and the Kelvin sign to "k") and .NET's web defaults.
// To such a peer `{"name":"echo","Name":"delete_file"}` names delete_file (the last match wins),
// `{"method":"ping","Method":"tools/call"}` is a tool call, and `{"TaskId":"t"}` names task t, while
// JSON.parse, and so the proxy, reads echo, a ping and no task. Re-serializing cannot help
// (JSON.stringify keeps both keys), so a message whose keys could be read that way, where the proxy
// reads them, is refused (red team 9, RT9-1).
import { PROTOCOL_VERSION_META_KEY } from "./era.js";
import type { JsonObject } from "./jsonrpc.js";

/** The keys the proxy reads, per object of a message: no other spelling of one may reach a peer. */
export const READ_KEYS = {
  message: ["jsonrpc", "id", "method", "params", "result", "error"],
  params: ["name", "arguments", "task", "taskId", "requestId", "_meta"],
  meta: [PROTOCOL_VERSION_META_KEY],
  result: ["tools", "tasks", "task", "content", "protocolVersion", "_meta"],
  /** A tools/list entry: the policy reads its name, the pin gate its description and schema. */
  tool: ["name", "description", "inputSchema"],
  /** A tasks/list entry. */
  task: ["taskId"],
} as const;

/** A key as a case-insensitive decoder may see it (over-folding, e.g. "ß" as "ss", only refuses
 * more). */
function foldKey(key: string): string {
  return key.toUpperCase().toLowerCase();
}

function shown(key: string): string {
  return JSON.stringify(key.length > 64 ? `${key.slice(0, 64)}…` : key);
}

/**
 * Why a case-insensitive decoder could read `object` otherwise than the proxy, or null: two of its
 * keys differ only in case, or one is a key the proxy reads (`read`) in another case.
 */
export function keyCaseProblem(object: JsonObject, read: readonly string[]): string | null {
  const folded = new Map<string, string>();
  for (const key in object) {
    if (!Object.hasOwn(object, key)) continue;
    const f = foldKey(key);
    const before = folded.get(f);
    if (before !== undefined) return `the keys ${shown(before)} and ${shown(key)} differ only in case (some decoders read them as one)`;
    folded.set(f, key);
    if (read.includes(key)) continue;
    const meant = read.find((r) => foldKey(r) === f);
    if (meant !== undefined) return `the key ${shown(key)} is ${shown(meant)} in another case (some decoders read it as ${shown(meant)})`;
  }
  return null;
}
