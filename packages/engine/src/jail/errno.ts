// errno numbers (Linux, the same on x86_64 and aarch64 for these) to names and text, for the
// helper's reports. Only the ones a jail step can plausibly hit; others print as "errno N".
import { constants } from "node:os";

const byNumber = new Map<number, string>();
for (const [name, value] of Object.entries(constants.errno)) byNumber.set(value, name);

export function errnoName(n: number): string {
  return byNumber.get(n) ?? `errno ${n}`;
}
