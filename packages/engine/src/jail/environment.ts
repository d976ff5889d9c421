// The server's environment: nothing of mcp-j's reaches it except what the policy names (env.pass,
// env.set, env.secrets) and what other layers add (the egress proxy's variables).
import { readOwnFile } from "../host-file.js";
import { resolve } from "node:path";
import type { Policy } from "../policy/schema.js";
import { policyVariables } from "../policy/variables.js";
import { JailError } from "./errors.js";
import { JAIL_PATH } from "./paths.js";

export interface JailEnvironment {
  /** "NAME=VALUE" entries, the server's whole environment. */
  env: string[];
  /** Secret values: never to be written to a log. */
  secrets: string[];
}

/**
 * @param hostEnv mcp-j's environment: the source of env.pass and secrets fromEnv.
 * @param cwd where a relative secrets fromFile is read from.
 * @param extra variables added by other layers, set last.
 */
export function jailEnvironment(policy: Policy, hostEnv: NodeJS.ProcessEnv, cwd: string, extra: Record<string, string> = {}): JailEnvironment {
  const env = new Map<string, string>();
  env.set("PATH", JAIL_PATH);
  env.set("HOME", "/tmp");
  env.set("LANG", hostEnv.LANG ?? "C.UTF-8");
  env.set("TERM", hostEnv.TERM ?? "dumb");
  for (const [name, v] of policyVariables(policy, hostEnv)) env.set(name, v);
  const secrets: string[] = [];
  for (const s of policy.env.secrets) {
    let v: string | undefined;
    if (s.fromFile !== undefined) {
      // Never through a link, never blocking on a FIFO, only a regular file of the user's
      // (host-file.ts): the file may lie where a jail wrote before (policy/host-files.ts).
      let text: string | null;
      try {
        text = readOwnFile(resolve(cwd, s.fromFile), `secret ${s.name}: the file`);
      } catch (e) {
        throw new JailError("E_GRANT_INVALID", (e as Error).message);
      }
      if (text === null) throw new JailError("E_GRANT_INVALID", `secret ${s.name}: cannot read ${s.fromFile}: ENOENT`);
      v = text.replace(/\r?\n$/, "");
    } else if (s.fromEnv !== undefined) {
      v = hostEnv[s.fromEnv];
      if (v === undefined) throw new JailError("E_GRANT_INVALID", `secret ${s.name}: ${s.fromEnv} is not set in mcp-j's environment`);
    }
    if (v !== undefined) {
      env.set(s.name, v);
      if (v.length > 0) secrets.push(v);
    }
  }
  for (const [k, v] of Object.entries(extra)) env.set(k, v);
  return { env: [...env].map(([k, v]) => `${k}=${v}`), secrets };
}
