// Downgrades: a layer the running kernel cannot give as planned (docs/design.md, rule 3: every property has
// a kernel layer). Each is described once here, with the layer that covers the same property when it
// is missing; the plan accepts the compensated ones always and the others only without --strict
// (native/jail/plan.h, P_DOWNGRADES: the helper never falls back on its own). `doctor`, the start-up
// line and the audit log's start event read this table.
import { Downgrade, type DowngradeName } from "./plan.js";

export interface DowngradeInfo {
  /** What is missing, for people. */
  missing: string;
  /** The kernel version that has it. */
  since: string;
  /** The layer that covers the same property when it is missing, or null: a real gap. */
  coveredBy: string | null;
}

export const DOWNGRADES: Readonly<Record<DowngradeName, DowngradeInfo>> = Object.freeze({
  procSubset: {
    missing: "/proc without subset=pid (sysctls, kcore and other system files visible to the jail)",
    since: "5.8",
    coveredBy: null,
  },
  waitKillable: {
    missing: "seccomp notification without WAIT_KILLABLE_RECV (a signal restarts a supervised call)",
    since: "5.19",
    coveredBy: null,
  },
  landlockRefer: {
    missing: "Landlock REFER right (ABI 2)",
    since: "5.19",
    coveredBy: "Landlock ABI 1 refuses every rename and link across directories instead",
  },
  landlockTruncate: {
    missing: "Landlock truncate control (ABI 3)",
    since: "6.2",
    coveredBy: "read-only mounts (/proc included) refuse truncate where the grant is read-only",
  },
  landlockNet: {
    missing: "Landlock TCP bind/connect rules (ABI 4)",
    since: "6.7",
    coveredBy: "the network namespace (only lo) and the supervisor's connect/bind decisions",
  },
  landlockIoctlDev: {
    missing: "Landlock device ioctl control (ABI 5)",
    since: "6.10",
    coveredBy: "the jail's /dev holds only null, zero, full, random, urandom; TIOCSTI/TIOCLINUX are refused by seccomp",
  },
  landlockScope: {
    missing: "Landlock signal and abstract unix socket scoping (ABI 6)",
    since: "6.12",
    coveredBy: "the PID and network namespaces, and seccomp refusing signals to the jail's init",
  },
});

export const DOWNGRADE_NAMES = Object.keys(DOWNGRADES) as DowngradeName[];

/** The downgrade bits a plan accepts: every compensated one, and under `strict` nothing else. */
export function acceptedDowngrades(strict: boolean): number {
  let bits = 0;
  for (const name of DOWNGRADE_NAMES) {
    if (!strict || DOWNGRADES[name].coveredBy !== null) bits |= Downgrade[name];
  }
  return bits;
}

/** The names of the bits set in `bits`. */
export function downgradeNames(bits: number): DowngradeName[] {
  return DOWNGRADE_NAMES.filter((n) => (bits & Downgrade[n]) !== 0);
}

/** The Landlock downgrades a given ABI implies for the rights the jail plans to handle (the same
 * computation as native/jail/landlock.c, for doctor's "what will happen here"). */
export function landlockDowngrades(abi: number): number {
  let bits = 0;
  if (abi < 2) bits |= Downgrade.landlockRefer;
  if (abi < 3) bits |= Downgrade.landlockTruncate;
  if (abi < 4) bits |= Downgrade.landlockNet;
  if (abi < 5) bits |= Downgrade.landlockIoctlDev;
  if (abi < 6) bits |= Downgrade.landlockScope;
  return bits;
}
