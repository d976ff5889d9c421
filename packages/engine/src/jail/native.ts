// Where the native build put its outputs, and the addon's two functions.
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { engineDir } from "../engine-dir.js";
import { JailError } from "./errors.js";

// A build from source (the repository, or an install without a prebuilt binary for this machine),
// else the binaries the published package carries (scripts/install-native.mjs).
const release = (): string => {
  const pkgDir = engineDir();
  return (
    [join(pkgDir, "build", "Release"), join(pkgDir, "prebuilt", `${process.platform}-${process.arch}`)].find((d) => existsSync(join(d, "mcpj-jail"))) ??
    join(pkgDir, "build", "Release")
  );
};

export function helperPath(): string {
  const p = process.env.MCPJ_HELPER ?? join(release(), "mcpj-jail");
  if (!existsSync(p)) {
    throw new JailError("E_HELPER_MISSING", `the jail helper ${p} is missing: run \`npm rebuild @mcp-j/engine\` (it builds it from source; needs gcc, make, python3)`);
  }
  return p;
}

interface NativeAddon {
  socketpair(): [number, number];
  recvFd(fd: number): { tag: string; fd: number };
  /** native/addon/relay.c: the egress proxy's byte relay (its own thread). */
  relayInit(done: (id: number, bytesAtoB: number, bytesBtoA: number, error: string | null) => void): void;
  relayStart(fdA: number, fdB: number, idleMs: number, firstAtoB: Buffer, firstBtoA: Buffer, dropAtoB?: boolean): number;
  relayStop(id: number): void;
}

let addon: NativeAddon | null = null;

export function nativeAddon(): NativeAddon {
  if (addon === null) {
    const p = join(release(), "mcpj_native.node");
    if (!existsSync(p)) throw new JailError("E_HELPER_MISSING", `${p} is missing: run \`npm install\``);
    addon = createRequire(p)(p) as NativeAddon;
  }
  return addon;
}
