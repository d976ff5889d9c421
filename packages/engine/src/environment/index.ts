// The environment mcp-j runs in (containers, Kubernetes, gVisor, AppArmor, Landlock at boot):
// facts, the kernel's real answers, and the fix for each restriction (issue 13, item 7).
import { helperPath } from "../jail/native.js";
import { readEnvironment, type EnvironmentFacts } from "./facts.js";
import { fixLine, restrictions, type Restriction } from "./diagnose.js";
import { probeKernel, type ProbeResults } from "./probe.js";

export { containerOf, procMasksOf, readEnvironment, type ContainerKind, type EnvironmentFacts } from "./facts.js";
export { fixFor, fixLine, restrictions, type Restriction } from "./diagnose.js";
export { feature, probeKernel, type ProbeResult, type ProbeResults } from "./probe.js";

export interface Diagnosis {
  facts: EnvironmentFacts;
  probe: ProbeResults;
  restrictions: Restriction[];
  /** One line: each restriction's cause and fix, or null when nothing explains a failure. */
  fix: string | null;
}

/** Facts, probe and restrictions of this machine now (runs mcpj-jail --probe). */
export function diagnoseEnvironment(): Diagnosis {
  const facts = readEnvironment();
  const probe = probeKernel();
  const rs = restrictions(facts, probe);
  return { facts, probe, restrictions: rs, fix: rs.length > 0 ? fixLine(rs, facts, helperPath()) : null };
}
