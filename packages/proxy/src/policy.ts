// The tool policy: which tools the client may see and call.
//
// Deny globs are matched on the exact name and on its folded form (fold.ts), so look-alikes of a
// denied name are denied too. Allow globs are matched on the exact name only: an allow list names
// exactly what may run, whatever a server calls its other tools. That makes `--allow-tool` the
// robust form of a tool policy.
import { foldToolName } from "./fold.js";
import { globMatch } from "./glob.js";
import { isJsonObject } from "./jsonrpc.js";

export interface ToolRules {
  readonly allow: readonly string[];
  readonly deny: readonly string[];
}

const MAX_DECIDED = 1024;
const MAX_CACHED_NAME_CHARS = 256;

export class ToolPolicy {
  private readonly allow: readonly string[];
  private readonly deny: readonly string[];
  private readonly foldedDeny: readonly string[];
  /** Decisions already made, by exact name: a session calls the same few tools again and again.
   * Bounded; cleared when full (a server offering more names than this only loses the cache). */
  private readonly decided = new Map<string, boolean>();

  constructor(rules: ToolRules = { allow: [], deny: [] }) {
    this.allow = [...rules.allow];
    this.deny = [...rules.deny];
    this.foldedDeny = this.deny.map(foldToolName);
  }

  /** True when the policy hides nothing, so nothing needs checking or rewriting. */
  get isOpen(): boolean {
    return this.allow.length === 0 && this.deny.length === 0;
  }

  /** Deny wins over allow; an empty allow list allows every tool not denied. */
  allows(name: string): boolean {
    if (this.isOpen) return true;
    const known = this.decided.get(name);
    if (known !== undefined) return known;
    const allowed = this.decide(name);
    if (name.length > MAX_CACHED_NAME_CHARS) return allowed; // the cache must stay small in bytes too
    if (this.decided.size >= MAX_DECIDED) this.decided.clear();
    this.decided.set(name, allowed);
    return allowed;
  }

  private decide(name: string): boolean {
    if (this.deny.length > 0) {
      if (this.deny.some((g) => globMatch(g, name))) return false;
      const folded = foldToolName(name);
      if (this.foldedDeny.some((g) => globMatch(g, folded))) return false;
    }
    return this.allow.length === 0 || this.allow.some((g) => globMatch(g, name));
  }

  /**
   * Which entries of a tools/list result's `tools` array the client may see (null when the result
   * has no such array). Entries without a string name are hidden: the policy cannot vouch for a
   * tool it cannot name.
   */
  visibleTools(tools: readonly unknown[]): { keep: boolean[]; removed: string[] } {
    const removed: string[] = [];
    const keep = tools.map((tool) => {
      const name = isJsonObject(tool) && typeof tool["name"] === "string" ? tool["name"] : null;
      if (name !== null && this.allows(name)) return true;
      removed.push(name ?? "(unnamed)");
      return false;
    });
    return { keep, removed };
  }
}
