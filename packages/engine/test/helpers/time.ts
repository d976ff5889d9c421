// Every bounded wait in the tests goes through here (issue 13, item 6). A bound is a safety net
// against a hang, never an assertion about speed: it is scaled by MCPJ_TEST_TIME_SCALE, which the
// harness sets where everything runs slower (the qemu VM under software emulation sets 8; unset or
// 1 on a normal machine). Tests wait for the event itself, with a bound, and never sleep a fixed time.

function parseScale(v: string | undefined): number {
  if (v === undefined || v === "") return 1;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 1) throw new Error(`MCPJ_TEST_TIME_SCALE must be a number ≥ 1, got ${JSON.stringify(v)}`);
  return n;
}

/** The factor every bound is multiplied by. */
export const timeScale: number = parseScale(process.env.MCPJ_TEST_TIME_SCALE);

/** A bound of `ms` on this machine: ms × MCPJ_TEST_TIME_SCALE. */
export function bound(ms: number): number {
  return Math.round(ms * timeScale);
}

/** Polls `cond` every 20 ms until it holds (true) or `ms` (scaled) have passed (false). */
export async function waitFor(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + bound(ms);
  while (Date.now() < end) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return cond();
}

/** Like waitFor, for a value: resolves with the first value `get` returns other than undefined, or
 * rejects naming `what` once `ms` (scaled) have passed. */
export async function waitForValue<T>(get: () => T | undefined, ms: number, what: string): Promise<T> {
  const end = Date.now() + bound(ms);
  for (;;) {
    const v = get();
    if (v !== undefined) return v;
    if (Date.now() >= end) throw new Error(`timed out after ${bound(ms)} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
