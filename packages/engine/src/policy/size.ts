// Sizes and durations as users write them.
import { durationToMs } from "./schema.js";
import { PolicyError } from "./errors.js";

const UNITS: Record<string, number> = { "": 1, B: 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };

/**
 * "512M", "1G", "1.5G", "64KiB", "65536", 65536 → bytes. Units are binary (1K = 1024) whether written
 * K, KB or KiB, matching cgroup and ulimit conventions. Throws PolicyError(E_POLICY) otherwise.
 */
export function parseSize(s: string | number): number {
  if (typeof s === "number") {
    if (!Number.isFinite(s) || s < 0) throw new PolicyError("E_POLICY", `${s} is not a size`);
    return Math.floor(s);
  }
  const m = /^(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?$/i.exec(s.trim());
  if (!m) throw new PolicyError("E_POLICY", `${JSON.stringify(s)} is not a size such as 512M or 1G`);
  const mult = UNITS[m[2]!.toUpperCase()]!;
  return Math.floor(Number(m[1]) * mult);
}

/** "2s" → 2000, "1500ms" → 1500, "1500" → 1500, "1m" → 60000. Throws PolicyError(E_POLICY). */
export function parseDuration(s: string | number): number {
  const v = durationToMs(s);
  if (!Number.isFinite(v) || v < 0) throw new PolicyError("E_POLICY", `${JSON.stringify(s)} is not a duration such as 2s or 1500ms`);
  return v;
}
