// The tasks that allowed tools/call requests started (task-augmented calls, MCP 2025-11-25 and the
// 2026-07-28 tasks extension). When a tool policy is set, a tasks/* request may only name one of
// these: a task the proxy did not see an allowed call start may be a denied tool's work (started
// by the server itself, or guessed), and reading, updating or cancelling it is refused.
// Bounded: the oldest are forgotten first (a client polling a forgotten task gets -32602 and can
// call the tool again), and an id that is empty or longer than MAX_ID_CHARS is not remembered (its
// tasks/* requests get -32602 too): the memory is the ids' count times that, whatever the server
// sends. (An id too large for the light parse, light.ts, reads as "" there.)
import { idTooLong, isJsonObject, type JsonObject } from "./jsonrpc.js";
import { taskMethod } from "./verdict.js";

export const MAX_REMEMBERED_TASKS = 4096;

export class TaskRegistry {
  private readonly tools = new Map<string, string>();

  /** `onForget` is told of each task forgotten to make room (attribution ends its work there). */
  constructor(
    private readonly capacity: number = MAX_REMEMBERED_TASKS,
    private readonly onForget: (taskId: string) => void = () => {},
  ) {}

  get size(): number {
    return this.tools.size;
  }

  /** Remembers the task; false when its id cannot be (empty, or too long). */
  add(taskId: string, toolName: string): boolean {
    if (taskId === "" || idTooLong(taskId)) return false;
    this.tools.delete(taskId);
    this.tools.set(taskId, toolName);
    if (this.tools.size > this.capacity) {
      const oldest = this.tools.keys().next();
      if (oldest.done !== true) {
        this.tools.delete(oldest.value);
        this.onForget(oldest.value);
      }
    }
    return true;
  }

  /** The tool whose call started the task, or null when the proxy did not see it started. */
  toolOf(taskId: string): string | null {
    return this.tools.get(taskId) ?? null;
  }
}

/** A task's statuses after which it does no more work (MCP 2025-11-25 and the tasks extension). */
const TERMINAL = new Set(["completed", "failed", "cancelled"]);

/** Whether an object with a task's `status` says it ended. */
export function isTerminalTask(task: JsonObject): boolean {
  return typeof task["status"] === "string" && TERMINAL.has(task["status"]);
}

/** The task a client's tasks/* request names (its params.taskId), or null for another method. */
export function namedTask(method: string, raw: JsonObject): string | null {
  if (taskMethod(method) === null) return null;
  const params = raw["params"];
  return isJsonObject(params) && typeof params["taskId"] === "string" ? params["taskId"] : null;
}

/**
 * The task a tools/call answer started: 2025-11-25's CreateTaskResult nests it (`result.task`), the
 * 2026-07-28 tasks extension flattens it into the result (`resultType: "task"`, `taskId`, `status`).
 */
export function startedTask(result: JsonObject): JsonObject | null {
  const nested = result["task"];
  if (isJsonObject(nested) && typeof nested["taskId"] === "string") return nested;
  return result["resultType"] === "task" && typeof result["taskId"] === "string" ? result : null;
}

/**
 * Where a tool's result sits in an answer that carries one: the result itself (tools/call,
 * tasks/result), or, for the tasks extension's tasks/get of a completed task, its `result` member.
 */
export function toolResultIn(result: JsonObject): JsonObject | null {
  if (Array.isArray(result["content"])) return result;
  const inline = result["result"];
  return isJsonObject(inline) && Array.isArray(inline["content"]) ? inline : null;
}
