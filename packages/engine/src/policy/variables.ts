// The variables a policy gives its server from mcp-j's environment and its own values: env.pass,
// then env.set over them. Secrets and the variables of other layers come after
// (jail/environment.ts builds the whole environment from this).
import type { Policy } from "./schema.js";

export function policyVariables(policy: Pick<Policy, "env">, hostEnv: NodeJS.ProcessEnv): Map<string, string> {
  const vars = new Map<string, string>();
  for (const name of policy.env.pass) {
    const v = hostEnv[name];
    if (v !== undefined) vars.set(name, v);
  }
  for (const [name, v] of Object.entries(policy.env.set)) vars.set(name, v);
  return vars;
}
