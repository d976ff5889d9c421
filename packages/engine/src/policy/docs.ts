// Generated documentation: the JSON Schema shipped for editors and the README's policy reference,
// both derived from PolicySchema (and the flag table), never written by hand.
// scripts/gen-policy-docs.mjs writes them; test/policy.docs.test.ts fails when the checked-in copies
// are stale.
import * as z from "zod";
import { PolicySchema } from "./schema.js";
import { FLAGS } from "./flags.js";

export const README_START = "<!-- policy-reference:start -->";
export const README_END = "<!-- policy-reference:end -->";

type JS = Record<string, unknown>;

/** The policy's JSON Schema (draft 2020-12), describing what a policy *file* may contain. */
export function policyJsonSchema(): JS {
  const s = z.toJSONSchema(PolicySchema, { io: "input", unrepresentable: "any" }) as JS;
  return {
    $schema: s.$schema,
    $id: "https://github.com/mcp-j/mcp-j/blob/main/packages/engine/schema/policy.schema.json",
    title: "MCP-J policy",
    description:
      "A policy for running an MCP server in an MCP-J jail. JSON (comments allowed) or YAML. Every command-line flag has a field here; flags override the file.",
    ...Object.fromEntries(Object.entries(s).filter(([k]) => k !== "$schema")),
  };
}

export function policyJsonSchemaText(): string {
  return JSON.stringify(policyJsonSchema(), null, 2) + "\n";
}

function typeOf(s: JS): string {
  if (Array.isArray(s.anyOf)) return [...new Set((s.anyOf as JS[]).map(typeOf))].join(" \\| ");
  if (Array.isArray(s.enum)) return (s.enum as unknown[]).map((v) => `\`${JSON.stringify(v)}\``).join(" \\| ");
  const t = s.type as string | undefined;
  if (t === "array") return `list of ${typeOf((s.items as JS) ?? {})}`;
  if (t === "object") return s.additionalProperties && typeof s.additionalProperties === "object" ? "map of string" : "object";
  if (t === "integer") return "integer";
  return t ?? "any";
}

function defaultAt(path: string[]): unknown {
  let cur: unknown = PolicySchema.parse({});
  for (const k of path) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<string, unknown>)[k];
  }
  return cur;
}

function flagsFor(path: string[]): string[] {
  const p = path.join(".");
  const out = FLAGS.filter((f) => f.field.join(".") === p && f.kind !== "env").map((f) => `\`${f.name}${f.meta ? " " + f.meta : ""}\``);
  if (p === "env.pass") out.push("`--env NAME`");
  if (p === "env.set") out.push("`--env NAME=VALUE`");
  if (p === "extends") out.push("`--profile NAME`");
  return out;
}

function esc(s: string): string {
  return s.replace(/\|/g, "\\|").replace(/\n/g, " ");
}

/** Markdown table rows: one per field, nested objects flattened to dotted paths. */
export function policyReferenceRows(): { field: string; type: string; default: string; flag: string; description: string }[] {
  const rows: { field: string; type: string; default: string; flag: string; description: string }[] = [];
  const walk = (s: JS, path: string[], inList: boolean) => {
    const props = (s.properties ?? {}) as Record<string, JS>;
    for (const [k, v] of Object.entries(props)) {
      const p = [...path, k];
      const isObj = v.type === "object" && v.properties;
      const items = v.items as JS | undefined;
      const d = inList ? undefined : defaultAt(p.filter((x) => x !== "[]"));
      const itemDesc = items && typeof items.description === "string" ? ` Each: ${items.description}.` : "";
      const own = typeof v.description === "string" ? v.description.replace(/\.?$/, ".") : "";
      const desc = own + (isObj ? "" : itemDesc);
      const required = Array.isArray(s.required) && (s.required as string[]).includes(k);
      rows.push({
        field: `\`${p.join(".").replace(/\.\[\]/g, "[]")}\``,
        type: isObj ? "object" : typeOf(v),
        default: isObj ? "" : d === undefined ? (required ? "required" : "—") : `\`${JSON.stringify(d)}\``,
        flag: flagsFor(p).join(", "),
        description: esc(desc.trim()),
      });
      if (isObj) walk(v, p, inList);
      else if (items && items.type === "object" && items.properties) walk(items, [...p, "[]"], true);
    }
  };
  walk(policyJsonSchema(), [], false);
  return rows;
}

/** The README section between the markers (markers excluded). */
export function policyReferenceMarkdown(): string {
  const rows = policyReferenceRows();
  const lines = [
    "",
    "### Policy reference",
    "",
    "_Generated from the zod schema by `node scripts/gen-policy-docs.mjs`; do not edit by hand._",
    "JSON Schema for editors: [`packages/engine/schema/policy.schema.json`](packages/engine/schema/policy.schema.json)",
    '(add `"$schema": "<path>/policy.schema.json"` to a JSON policy, or `# yaml-language-server: $schema=<path>` to a YAML one).',
    "",
    "A policy file is JSON (comments and trailing commas allowed) or YAML. Lists accumulate across",
    "`extends`, `--profile` and flags; other fields take the last value (flags last). Relative paths",
    "are relative to the policy file; `~` is your home directory. Built-in profiles: `node`, `python`, `npx`.",
    "",
    "| Field | Type | Default | Flag | Description |",
    "|---|---|---|---|---|",
    ...rows.map((r) => `| ${r.field} | ${r.type} | ${r.default} | ${r.flag} | ${r.description} |`),
    "",
  ];
  return lines.join("\n");
}

/** Replaces (or appends) the marked section of a README text. */
export function spliceReadme(readme: string): string {
  const section = README_START + "\n" + policyReferenceMarkdown() + "\n" + README_END;
  const a = readme.indexOf(README_START);
  const b = readme.indexOf(README_END);
  if (a === -1 || b === -1 || b < a) return (readme.endsWith("\n") || readme === "" ? readme : readme + "\n") + section + "\n";
  return readme.slice(0, a) + section + readme.slice(b + README_END.length);
}
