// Keys read otherwise than JSON.parse reads them. Some JSON decoders match an object's keys to the
// fields they expect loosely:
//   - without regard to case: Go's encoding/json (which the Go MCP SDK used that way before 1.3.1,
//     CVE-2026-27896; it also folds "ſ" to "s" and the Kelvin sign to "k") and .NET's web defaults;
//   - by another name: pydantic models with camelCase aliases that also take the field's own name
//     (`populate_by_name`, as the Python SDK's types do) read "task_id" as "taskId" (red team 10);
//   - up to a NUL: C libraries (cJSON, json-c) decode "\u0000" into a NUL byte and compare keys as
//     C strings, so "method\u0000" is "method" to them (red team 10).
// To such a peer `{"name":"echo","Name":"delete_file"}` names delete_file (whichever match wins),
// `{"method":"ping","Method":"tools/call"}` is a tool call and `{"TaskId":"t"}` names task t, while
// JSON.parse, and so the proxy, reads echo, a ping and no task. Re-serializing cannot help
// (JSON.stringify keeps both keys), so a message whose keys could be read that way, where the proxy
// reads them, is refused (red team 9, RT9-1).
import { PROTOCOL_VERSION_META_KEY } from "./era.js";
import { showId, type JsonObject } from "./jsonrpc.js";

/** Keys the proxy reads in one object: as spelled, and as a loose decoder folds them (made once). */
export interface ReadKeys {
  readonly exact: ReadonlySet<string>;
  readonly byFold: ReadonlyMap<string, string>;
}

function readKeys(keys: readonly string[]): ReadKeys {
  return { exact: new Set(keys), byFold: new Map(keys.map((k) => [foldKey(k), k])) };
}

/** The keys the proxy reads, per object of a message: no other spelling of one may reach a peer. */
export const READ_KEYS = {
  message: readKeys(["jsonrpc", "id", "method", "params", "result", "error"]),
  params: readKeys(["name", "arguments", "task", "taskId", "requestId", "_meta"]),
  meta: readKeys([PROTOCOL_VERSION_META_KEY]),
  result: readKeys(["tools", "tasks", "task", "content", "protocolVersion", "_meta"]),
  /** A tools/list entry: the policy reads its name, the pin gate its description and schema. */
  tool: readKeys(["name", "description", "inputSchema"]),
  /** A tasks/list entry. */
  task: readKeys(["taskId"]),
} as const;

/** A key as a loose decoder may see it: up to a NUL, without "_", in no case (over-folding, e.g.
 * "ß" as "ss", only refuses more). */
function foldKey(key: string): string {
  const nul = key.indexOf("\0");
  return (nul < 0 ? key : key.slice(0, nul)).replaceAll("_", "").toUpperCase().toLowerCase();
}

/**
 * Why a loose decoder could read `object` otherwise than the proxy, or null: two of its keys fold
 * to one, or one is a key the proxy reads (`read`) spelled another way.
 */
export function keyCaseProblem(object: JsonObject, read: ReadKeys): string | null {
  const folded = new Map<string, string>();
  for (const key in object) {
    if (!Object.hasOwn(object, key)) continue;
    const f = foldKey(key);
    const before = folded.get(f);
    if (before !== undefined) return `the keys ${showId(before)} and ${showId(key)} differ only in case, "_" or what follows a NUL (some decoders read them as one)`;
    folded.set(f, key);
    if (read.exact.has(key)) continue;
    const meant = read.byFold.get(f);
    if (meant !== undefined) return `the key ${showId(key)} is ${showId(meant)} spelled another way (some decoders read it as ${showId(meant)})`;
  }
  return null;
}
