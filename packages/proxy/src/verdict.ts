// What the tool policy says about one message from the client, whatever its shape: a request or a
// notification (a server that dispatches on the method alone runs a tools/call sent without an id),
// a first call or a retry of one (MCP 2026-07-28 retries a call with a new id, `inputResponses` and
// `requestState`: it is a tools/call like any other and is checked like one), a task-augmented call,
// or a tasks/* request about the work a call started.
import { foldToolName } from "./fold.js";
import { isJsonObject, type JsonObject } from "./jsonrpc.js";
import type { ToolPolicy } from "./policy.js";
import type { TaskRegistry } from "./tasks.js";
import { toolCallName, toolCallParamsProblem } from "./validate.js";

export type Verdict =
  /** Forward it; `toolName` is set for tools/call (for the audit and for tasks it starts). */
  | { readonly kind: "allowed"; readonly toolName: string | null }
  /** A tools/call whose params the proxy cannot check (-32602). */
  | { readonly kind: "invalid"; readonly problem: string }
  /** A tools/call of a denied tool (a result with isError). */
  | { readonly kind: "denied"; readonly toolName: string }
  /** A tasks/* request about a task no allowed call started (-32602). */
  | { readonly kind: "unknown-task"; readonly problem: string }
  /** A tasks/* method the revision the request names does not have (-32601). */
  | { readonly kind: "no-method"; readonly problem: string };

const TOOLS_CALL = "tools/call";

/** Whether a method is tools/call, or a spelling of it that a lenient server might dispatch as one
 * (other case, look-alike characters, surrounding spaces). */
export function namesToolsCall(method: string): boolean {
  return namesMethod(method, TOOLS_CALL);
}

/** Whether a method is `canonical` (lower case, "/"), or a spelling of it a lenient server might
 * dispatch as it. */
export function namesMethod(method: string, canonical: string): boolean {
  if (method === canonical) return true;
  return method.length <= 64 && foldMethod(method) === canonical;
}

/** The tasks/* methods that read, update or cancel a task's work, per era: 2025-11-25's
 * experimental tasks, and the 2026-07-28 tasks extension (which removed tasks/result and
 * tasks/list). Under a tool policy each is checked whatever era the request names, since a server
 * dispatches on the method, not on the revision a request names in its `_meta` (SDK v1 never reads
 * it): a tasks/result naming 2026-07-28 in a 2025-11-25 session reached a server that answered it
 * (red team 8, RT8-2). A method the named era lacks is answered -32601 by the proxy, as a server of
 * that era would answer it, and never reaches the server. */
const LEGACY_TASK_METHODS: ReadonlySet<string> = new Set(["tasks/get", "tasks/result", "tasks/cancel"]);
const MODERN_TASK_METHODS: ReadonlySet<string> = new Set(["tasks/get", "tasks/update", "tasks/cancel"]);

const TASK_METHODS: ReadonlySet<string> = new Set([...LEGACY_TASK_METHODS, ...MODERN_TASK_METHODS]);

/** The task method a method names (its canonical spelling), or null. */
export function taskMethod(method: string): string | null {
  const canonical = TASK_METHODS.has(method) || method.length > 64 ? method : foldMethod(method);
  return TASK_METHODS.has(canonical) ? canonical : null;
}

const FOLDED_ALREADY = /^[a-z/]*$/;

function foldMethod(method: string): string {
  // The usual spelling (lower-case letters and "/") is its own folded form: no work on the hot path.
  if (FOLDED_ALREADY.test(method)) return method;
  // Separators fold to "_" in tool names; a method keeps its "/" and is compared without them.
  return foldToolName(method.trim()).replaceAll("_", "");
}

export function clientVerdict(method: string, raw: JsonObject, policy: ToolPolicy, tasks: TaskRegistry, modern: boolean): Verdict {
  if (namesToolsCall(method)) {
    const problem = toolCallParamsProblem(raw["params"]);
    if (problem !== null) return { kind: "invalid", problem };
    const toolName = toolCallName(raw);
    return policy.allows(toolName) ? { kind: "allowed", toolName } : { kind: "denied", toolName };
  }
  const task = policy.isOpen ? null : taskMethod(method);
  if (task !== null) {
    if (!(modern ? MODERN_TASK_METHODS : LEGACY_TASK_METHODS).has(task)) {
      return { kind: "no-method", problem: `${task} is not a method of MCP ${modern ? "2026-07-28 and later" : "2025-11-25 and earlier"}` };
    }
    // A task method names its task in params.taskId, as the specification requires. Without it (no
    // params, params by position, another spelling a loose server reads: key-case.ts) there is no
    // task to check, so it is refused (red teams 9 and 10).
    const params = raw["params"];
    const taskId = isJsonObject(params) ? params["taskId"] : undefined;
    if (typeof taskId !== "string" || taskId.includes("\0")) return { kind: "unknown-task", problem: `${task} needs "params" with a string "taskId" (without U+0000)` };
    const tool = tasks.toolOf(taskId);
    if (tool === null) return { kind: "unknown-task", problem: `no task "${taskId}" was started by an allowed tool call (mcp-j tool policy)` };
    if (!policy.allows(tool)) return { kind: "unknown-task", problem: `task "${taskId}" belongs to the denied tool "${tool}" (mcp-j tool policy)` };
  }
  return { kind: "allowed", toolName: null };
}
