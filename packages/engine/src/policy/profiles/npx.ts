// The npx profile: node, npm's own scripts and /bin/sh (npm exec runs package bins through a shell),
// an npm cache of this server's own, and egress to the registry the user's npm configuration names.
//
//   registry  npmrc.ts: the user's configuration only (never a project .npmrc), then config-host.ts:
//             a host name, never an IP literal or a loopback name. Passed in as npm_config_registry
//             (the jail does not see the user's .npmrc). Scoped registries (`@scope:registry`) are
//             not carried over: npm takes them only from a file or a variable name with `@` in it.
//   cache     $XDG_CACHE_HOME/mcp-j/npm-servers/KEY (default ~/.cache/...), mounted read-write
//             at /tmp/.npm with npm_config_cache pointing there. KEY is a digest of what the server
//             runs and may do: the registry, the command and the server key (its flags and policy
//             file, see run.ts). A jail can write only its own cache, and nothing it writes is ever
//             read by a server that runs something else or with other grants (ESCAPES 64: with one
//             shared cache a jail once planted a file inside another server's installed package).
//             We chose one cache per server over a read-only shared cache with a private writable
//             layer: a shared layer would have to be filled by someone trusted, which means running
//             npm on the host; per-server caches cost one download per server, once.
//             The directory is 0700 and, when mcp-j runs as root, owned by 65534, the jail's uid. Its
//             parent is new (mcp-j's earlier shared, jail-writable cache was ~/.cache/mcp-j/npm, so
//             nothing a jail wrote there can sit where a server's cache is created) and must belong
//             to the invoking user, writable by no one else.
import { createHash } from "node:crypto";
import { chownSync, existsSync, lstatSync, mkdirSync, statSync } from "node:fs";
import { dirname, isAbsolute, join } from "node:path";
import type { PolicyInput } from "../schema.js";
import { PolicyError } from "../errors.js";
import { engineDir } from "../../engine-dir.js";
import { homeOf, JAIL_HOME, JAIL_ROOT_MAPPED_UID, realOr, roGrants, tooWide, uniq, whichSync, type ProfileContext } from "./common.js";
import { configHost, type ConfigValue } from "./config-host.js";
import { nodeRuntime } from "./node.js";
import { readNpmConfig } from "./npmrc.js";

const DEFAULT_REGISTRY: ConfigValue = { value: "https://registry.npmjs.org/", where: "npm's default" };

export interface NpmRegistry {
  /** The registry's URL, as the jail's npm is told. */
  url: string;
  /** HOST or HOST:PORT, for the allowlist. */
  host: string;
}

export function npmRegistry(ctx: ProfileContext): NpmRegistry {
  const value = readNpmConfig(ctx).get("registry") ?? DEFAULT_REGISTRY;
  return { url: value.value, host: configHost(value, "registry", "npx") };
}

/** The parent of every server's npm cache: $XDG_CACHE_HOME/mcp-j/npm-servers (default ~/.cache/...). */
export function npxCacheRoot(env: NodeJS.ProcessEnv): string {
  const base = env.XDG_CACHE_HOME && isAbsolute(env.XDG_CACHE_HOME) ? env.XDG_CACHE_HOME : join(homeOf(env), ".cache");
  return join(base, "mcp-j", "npm-servers");
}

/** This server's npm cache directory on the host. */
export function npxCacheDir(ctx: ProfileContext, registry: string): string {
  const key = createHash("sha256")
    .update(JSON.stringify({ registry, command: ctx.command ?? [], server: ctx.serverKey ?? "" }))
    .digest("hex")
    .slice(0, 24);
  return join(npxCacheRoot(ctx.env), key);
}

function makeJailCache(dir: string): void {
  const parent = dirname(dir);
  try {
    mkdirSync(parent, { recursive: true, mode: 0o700 });
    mkdirSync(dir, { mode: 0o700 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EEXIST") {
      throw new PolicyError("E_PROFILE", `profile npx: cannot create the npm cache ${dir} (${(e as NodeJS.ErrnoException).code ?? e}); set XDG_CACHE_HOME to a writable directory`);
    }
  }
  const p = lstatSync(parent);
  if (!p.isDirectory() || p.uid !== process.geteuid?.() || (p.mode & 0o022) !== 0) {
    throw new PolicyError("E_PROFILE", `profile npx: ${parent} must be a directory of yours that no one else can write; remove it (mcp-j creates it again)`);
  }
  // As root, the jail runs as the host's nobody (65534, never root: docs/design.md, "Identity"): the cache
  // must belong to it, or npm inside the jail cannot write there. Unprivileged, the jail's uid maps
  // to ours.
  if (process.getuid?.() === 0 && statSync(dir).uid !== JAIL_ROOT_MAPPED_UID) chownSync(dir, JAIL_ROOT_MAPPED_UID, JAIL_ROOT_MAPPED_UID);
}

/** The npm script-shell of the npx profile, shipped in this package's assets/. */
const npxScriptShell = (): string => join(engineDir(), "assets", "npx-script-shell.sh");

export function npxProfile(ctx: ProfileContext): PolicyInput {
  const registry = npmRegistry(ctx);
  const cache = npxCacheDir(ctx, registry.url);
  makeJailCache(cache);
  const node = nodeRuntime(ctx, "node");
  const npmExec: string[] = [];
  for (const n of ["npx", "npm"]) {
    const p = whichSync(n, ctx.env, ctx.cwd);
    if (p) npmExec.push(p, realOr(p));
  }
  const sh = ["/bin/sh", "/usr/bin/sh"].find((p) => existsSync(p));
  if (sh) npmExec.push(sh, realOr(sh));
  const jailCache = `${JAIL_HOME}/.npm`;
  // npm runs downloaded binaries through its script-shell; ours starts JavaScript ones with node,
  // since nothing in the writable cache can be executed (see assets/npx-script-shell.sh).
  const scriptShell = npxScriptShell();
  return {
    filesystem: {
      ro: [...roGrants([...node.ro, ...npmExec.map((p) => dirname(dirname(p))).filter((d) => !tooWide(d, ctx.env))]), { path: scriptShell, dest: scriptShell }],
      rw: [{ path: cache, dest: jailCache }],
      exec: uniq([node.path, node.real, ...npmExec, scriptShell]),
    },
    network: { allow: [registry.host] },
    env: {
      set: {
        npm_config_cache: jailCache,
        npm_config_script_shell: scriptShell,
        npm_config_registry: registry.url,
        npm_config_update_notifier: "false",
        npm_config_fund: "false",
        npm_config_audit: "false",
      },
    },
  };
}
