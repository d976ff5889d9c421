// Policy and client config files: JSON with comments (and trailing commas) or YAML.
import { createRequire } from "node:module";
import { join } from "node:path";
import { engineDir } from "../engine-dir.js";
import type * as Yaml from "yaml";
import { PolicyError } from "./errors.js";

// The YAML parser is loaded on first use, from this package's own dependencies (the mcp-j bundle
// leaves it out): most runs have no YAML policy, and mcp-j's start-up is on every MCP server's
// start-up path.
let yamlModule: typeof Yaml | null = null;
function yaml(): typeof Yaml {
  yamlModule ??= createRequire(join(engineDir(), "package.json"))("yaml") as typeof Yaml;
  return yamlModule;
}

/**
 * JSON with comments → JSON: `//` and `/* *\/` comments and trailing commas outside strings become
 * spaces; every other character, newlines included, stays where it was, so an offset, line or
 * column in the result is the same in the original (JSON.parse positions for policy errors, member
 * spans for the in-place edits of client configs in `wrap`). Strings are scanned with their
 * escapes, so "http://x" and "a\"//b" are left alone.
 */
export function blankJsonComments(text: string): string {
  const out = text.split("");
  const n = text.length;
  const blank = (from: number, to: number): void => {
    for (let k = from; k < to; k++) if (out[k] !== "\n" && out[k] !== "\r") out[k] = " ";
  };
  let comma = -1; // the last comma, while only whitespace and comments follow it
  for (let i = 0; i < n; ) {
    const c = text[i]!;
    if (c === '"') {
      let j = i + 1;
      while (j < n && text[j] !== '"' && text[j] !== "\n") j += text[j] === "\\" ? 2 : 1;
      i = j + 1;
      comma = -1;
    } else if (c === "/" && text[i + 1] === "/") {
      let j = i;
      while (j < n && text[j] !== "\n") j++;
      blank(i, j);
      i = j;
    } else if (c === "/" && text[i + 1] === "*") {
      const end = text.indexOf("*/", i + 2);
      const j = end === -1 ? n : end + 2;
      blank(i, j);
      i = j;
    } else {
      if ((c === "}" || c === "]") && comma >= 0) out[comma] = " "; // a trailing comma
      if (c === ",") comma = i;
      else if (!/\s/.test(c)) comma = -1;
      i++;
    }
  }
  return out.join("");
}

export type ConfigFormat = "json" | "yaml";

/** By extension (.json/.jsonc → JSON, .yaml/.yml → YAML), else by content: `{` or `[` first → JSON. */
export function detectFormat(file: string, text: string): ConfigFormat {
  const lower = file.toLowerCase();
  if (lower.endsWith(".json") || lower.endsWith(".jsonc") || lower.endsWith(".json5")) return "json";
  if (lower.endsWith(".yaml") || lower.endsWith(".yml")) return "yaml";
  const first = blankJsonComments(text).trimStart()[0];
  return first === "{" || first === "[" ? "json" : "yaml";
}

function lineCol(text: string, pos: number): string {
  const before = text.slice(0, pos);
  const line = before.split("\n").length;
  const col = pos - before.lastIndexOf("\n");
  return `${line}:${col}`;
}

/** Parses a JSONC or YAML document; syntax errors become PolicyError(E_POLICY_FILE) naming file:line:col. */
export function parseConfigText(text: string, file: string, format = detectFormat(file, text)): unknown {
  if (format === "json") {
    const stripped = blankJsonComments(text.replace(/^\uFEFF/, ""));
    try {
      return JSON.parse(stripped);
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      const m = /position (\d+)/.exec(msg);
      const where = m ? `:${lineCol(stripped, Number(m[1]))}` : "";
      throw new PolicyError("E_POLICY_FILE", `${file}${where}: invalid JSON: ${msg.replace(/ in JSON at position \d+.*$/, "")}`);
    }
  }
  try {
    return yaml().parse(text, { prettyErrors: true, uniqueKeys: true });
  } catch (e) {
    if (e instanceof yaml().YAMLParseError) {
      const lp = e.linePos?.[0];
      const where = lp ? `:${lp.line}:${lp.col}` : "";
      throw new PolicyError("E_POLICY_FILE", `${file}${where}: invalid YAML: ${e.message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "")}`);
    }
    throw new PolicyError("E_POLICY_FILE", `${file}: invalid YAML: ${e instanceof Error ? e.message : String(e)}`);
  }
}
