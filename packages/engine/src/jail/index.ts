export { compileJailPlan, jailToHost, JAIL_GID, JAIL_PATH, JAIL_UID, type CompiledJail, type PlanContext } from "./compile-plan.js";
export { EXIT, JailError, type JailErrorCode } from "./errors.js";
export { errnoName } from "./errno.js";
export { Jail, type JailExit, type JailReady, type JailStartOptions } from "./jail.js";
export { helperPath, nativeAddon } from "./native.js";
export { encodePlan } from "./plan-codec.js";
export type { JailPlan, MountStep, Rlimit } from "./plan.js";
export { parseReport, type JailReport } from "./reports.js";
