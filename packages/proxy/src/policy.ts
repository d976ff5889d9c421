// The tool policy: which tools the client may see and call.
import { deniedToolResult } from "./errors.js";
import { globMatch } from "./glob.js";
import { isJsonObject, type JsonObject, type JsonRpcId } from "./jsonrpc.js";

export interface ToolRules {
  readonly allow: readonly string[];
  readonly deny: readonly string[];
}

export class ToolPolicy {
  private readonly allow: readonly string[];
  private readonly deny: readonly string[];

  constructor(rules: ToolRules = { allow: [], deny: [] }) {
    this.allow = [...rules.allow];
    this.deny = [...rules.deny];
  }

  /** True when the policy hides nothing, so tools/list results need not be rewritten. */
  get isOpen(): boolean {
    return this.allow.length === 0 && this.deny.length === 0;
  }

  /** Deny wins over allow; an empty allow list allows every tool not denied. */
  allows(name: string): boolean {
    if (this.deny.some((g) => globMatch(g, name))) return false;
    return this.allow.length === 0 || this.allow.some((g) => globMatch(g, name));
  }

  /**
   * Removes denied tools from a tools/list response, in place on the parsed message (which is then
   * re-serialized anyway). Entries without a string name are removed too when the policy is not
   * open: the policy cannot vouch for a tool it cannot name. Returns the names removed.
   */
  filterToolsListResponse(response: JsonObject): string[] {
    if (this.isOpen) return [];
    const result = response["result"];
    if (!isJsonObject(result) || !Array.isArray(result["tools"])) return [];
    const removed: string[] = [];
    result["tools"] = result["tools"].filter((tool: unknown) => {
      const name = isJsonObject(tool) && typeof tool["name"] === "string" ? tool["name"] : null;
      if (name !== null && this.allows(name)) return true;
      removed.push(name ?? "(unnamed)");
      return false;
    });
    return removed;
  }

  denial(id: JsonRpcId, name: string): JsonObject {
    return deniedToolResult(id, name);
  }
}
