// Errors that point at the field. Every failure in policy handling is a PolicyError with a stable code
// and a one-line message a user can act on, e.g.
//   policy.yaml: network.allow[2]: "http://x" is not HOST[:PORT]
//   --allow-net "http://x": is not HOST[:PORT]
import type * as z from "zod";
import { EXIT } from "../exit-codes.js";

export type PolicyErrorCode =
  | "E_USAGE" // bad command line (unknown flag, missing value, malformed flag value)
  | "E_POLICY" // a policy (file or merged) that does not validate
  | "E_POLICY_FILE" // a policy/config file that cannot be read or parsed (syntax)
  | "E_PROFILE" // a built-in profile that cannot be resolved on this machine
  | "E_SERVER"; // `mcp-j run NAME`: unknown server or bad servers config

export class PolicyError extends Error {
  readonly code: PolicyErrorCode | string;
  /** Every problem found (message holds them joined by newlines). */
  readonly problems: string[];
  /** Whatever the code, the user can fix it in the command line or a file they wrote. */
  readonly exitCode = EXIT.usage;
  constructor(code: PolicyErrorCode | string, message: string | string[]) {
    const problems = Array.isArray(message) ? message : [message];
    super(problems.join("\n"));
    this.name = "PolicyError";
    this.code = code;
    this.problems = problems;
  }
}

/** `network.allow[2]`, `env.set.FOO`, `` (root). */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const k of path) {
    if (typeof k === "number") out += `[${k}]`;
    else {
      const s = String(k);
      out += /^[A-Za-z_$][\w$]*$/.test(s) ? (out ? "." : "") + s : `[${JSON.stringify(s)}]`;
    }
  }
  return out;
}

function valueAt(data: unknown, path: readonly PropertyKey[]): { found: boolean; value: unknown } {
  let cur: unknown = data;
  for (const k of path) {
    if (cur === null || typeof cur !== "object" || !(k in (cur as object))) return { found: false, value: undefined };
    cur = (cur as Record<PropertyKey, unknown>)[k];
  }
  return { found: true, value: cur };
}

function show(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v.length > 80 ? v.slice(0, 77) + "..." : v);
  if (v === null || typeof v === "number" || typeof v === "boolean") return String(v);
  if (Array.isArray(v)) return "a list";
  return "an object";
}

function article(t: string): string {
  const map: Record<string, string> = { array: "a list", object: "an object", int: "an integer", number: "a number", string: "a string", boolean: "true or false" };
  return map[t] ?? t;
}

/** The field names an object schema at `path` accepts (for "unknown field" messages). */
export function knownKeys(schema: unknown, path: readonly PropertyKey[]): string[] {
  let cur = schema as { _zod?: { def: Record<string, unknown> } } | undefined;
  const unwrap = () => {
    for (let n = 0; n < 20 && cur?._zod; n++) {
      const d = cur._zod.def;
      if (d.type === "default" || d.type === "optional" || d.type === "nullable" || d.type === "prefault") cur = d.innerType as typeof cur;
      else if (d.type === "pipe") cur = d.in as typeof cur;
      else break;
    }
  };
  for (const k of path) {
    unwrap();
    const d = cur?._zod?.def;
    if (!d) return [];
    if (d.type === "object") cur = (d.shape as Record<string, typeof cur>)[String(k)];
    else if (d.type === "array") cur = d.element as typeof cur;
    else if (d.type === "record") cur = d.valueType as typeof cur;
    else return [];
  }
  unwrap();
  const d = cur?._zod?.def;
  return d?.type === "object" ? Object.keys(d.shape as object) : [];
}

/** The value shown before a message: primitives only ("5 is a number"), not "a list is a list". */
function lead(v: unknown): string {
  return v !== null && typeof v === "object" ? "" : show(v) + " ";
}

function kind(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "object") return "an object";
  return `a ${typeof v}`;
}

/** Messages written in schema.ts start lowercase ("is not HOST[:PORT]"); zod's own start uppercase. */
function isOurMessage(m: string): boolean {
  return /^[a-z]/.test(m);
}

type Issue = z.core.$ZodIssue;

/** One human message (without location prefix) for one zod issue, given the input it was about. */
function describeIssue(issue: Issue, data: unknown, schema?: unknown): { path: readonly PropertyKey[]; text: string } {
  const { found, value } = valueAt(data, issue.path);
  const path = issue.path as PropertyKey[];
  switch (issue.code) {
    case "unrecognized_keys": {
      const known = schema ? knownKeys(schema, path) : [];
      return {
        path,
        text:
          `unknown field${issue.keys.length > 1 ? "s" : ""} ${issue.keys.map((k) => JSON.stringify(k)).join(", ")}` +
          (known.length ? ` (known: ${known.join(", ")})` : ""),
      };
    }
    case "invalid_type":
      if (!found || value === undefined) return { path, text: `is required (${article(issue.expected)})` };
      return { path, text: `${lead(value)}is ${kind(value)}, expected ${article(issue.expected)}` };
    case "invalid_union": {
      // Prefer the branch that got past the type check: its complaint is the specific one.
      const branches = (issue as { errors?: Issue[][] }).errors ?? [];
      const specific = branches.find((b) => b.length > 0 && !b.some((i) => i.code === "invalid_type" && i.path.length === 0));
      if (specific && specific[0]) {
        return describeIssue({ ...specific[0], path: [...path, ...specific[0].path] } as Issue, data, schema);
      }
      const expected = [
        ...new Set(branches.flatMap((b) => b.filter((i) => i.code === "invalid_type" && i.path.length === 0).map((i) => article((i as { expected: string }).expected)))),
      ];
      return { path, text: `${lead(value)}is ${kind(value)}, expected ${expected.length ? expected.join(" or ") : "something else"}` };
    }
    case "invalid_value":
      return { path, text: `${show(value)} is not one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}` };
    case "too_small":
      if (typeof value === "string" && issue.origin === "string") return { path, text: `is empty` };
      if (Array.isArray(value)) return { path, text: `needs at least ${String(issue.minimum)} entries` };
      return { path, text: `${show(value)} must be ${issue.inclusive === false ? "more than" : "at least"} ${String(issue.minimum)}` };
    case "too_big":
      return { path, text: `${show(value)} must be ${issue.inclusive === false ? "less than" : "at most"} ${String(issue.maximum)}` };
    case "invalid_key": {
      // a record key (env.set): the path ends at the key
      const key = path[path.length - 1];
      const inner = (issue as { issues?: Issue[] }).issues?.[0];
      const why = inner && isOurMessage(inner.message) ? inner.message : "is not a valid name";
      return { path: path.slice(0, -1), text: `${JSON.stringify(String(key))} ${why}` };
    }
    default:
      if (isOurMessage(issue.message)) {
        const prim = found && (value === null || typeof value !== "object");
        return { path, text: `${prim ? show(value) + " " : ""}${issue.message}` };
      }
      return { path, text: `${found ? show(value) + ": " : ""}${issue.message}` };
  }
}

/**
 * Formats zod issues as `SOURCE: PATH: MESSAGE` lines. `source` is the file name (or "" for merged
 * policies); `flagFor` maps an issue path to the flag that produced the value, for command-line input.
 */
export function formatIssues(
  issues: readonly Issue[],
  data: unknown,
  source: string,
  flagFor?: (path: readonly PropertyKey[]) => string | undefined,
  schema?: unknown,
): string[] {
  const out: string[] = [];
  for (const issue of issues) {
    const d = describeIssue(issue, data, schema);
    const flag = flagFor?.(d.path);
    if (flag !== undefined) {
      const { value } = valueAt(data, d.path);
      const text = d.text.startsWith(show(value) + " ") ? d.text.slice(show(value).length + 1) : d.text;
      out.push(`${flag} ${show(value)}: ${text}`);
      continue;
    }
    const p = formatPath(d.path);
    out.push([source, p, d.text].filter((x) => x !== "").join(": "));
  }
  return out;
}
