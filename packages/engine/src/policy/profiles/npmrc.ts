// The user's npm configuration, read the way npm reads it but without running npm and without the
// project layer: a `.npmrc` in the start directory or the server's tree is the server's side
// (ESCAPES 63) and is never read. Layers, highest first (npm's own order minus "project"):
//
//   1. npm_config_KEY in mcp-j's environment (any case; `_` stands for `-`, as npm reads it)
//   2. the user config: $npm_config_userconfig, else ~/.npmrc
//   3. the global config: $npm_config_globalconfig (or `globalconfig` in the user config), else
//      PREFIX/etc/npmrc, PREFIX being $npm_config_prefix / `prefix` / $PREFIX, else the prefix
//      of the node that runs npm
//   4. npm's built-in config (npmrc beside npm's own package.json)
//
// Files are ini lines `key = value`; `;` and `#` start comments; a value may be a JSON string;
// ${VAR} is replaced from mcp-j's environment (as npm does). Each value keeps its file and line.
import { existsSync } from "node:fs";
import { dirname, isAbsolute, join } from "node:path";
import { homeOf, readHead, realOr, whichSync, type ProfileContext } from "./common.js";
import type { ConfigValue } from "./config-host.js";

type Layer = Map<string, ConfigValue>;

function expandEnv(s: string, env: NodeJS.ProcessEnv): string {
  return s.replace(/(\\*)\$\{([^${}]+)\}/g, (all, esc: string, name: string) => (esc.length % 2 === 1 ? all.slice(1) : esc + (env[name] ?? "")));
}

export function parseNpmrc(file: string, env: NodeJS.ProcessEnv): Layer {
  const out: Layer = new Map();
  if (!existsSync(file)) return out;
  const lines = readHead(file, 1 << 20).split(/\r?\n/);
  lines.forEach((line, i) => {
    const t = line.trim();
    if (t === "" || t.startsWith(";") || t.startsWith("#") || t.startsWith("[")) return;
    const eq = t.indexOf("=");
    if (eq <= 0) return;
    const key = expandEnv(t.slice(0, eq).trim(), env);
    let value = t.slice(eq + 1).trim();
    if (value.startsWith('"')) {
      try {
        value = String(JSON.parse(value));
      } catch {
        /* npm keeps a malformed quoted value as written */
      }
    }
    out.set(key, { value: expandEnv(value, env), where: `${file}:${i + 1}` });
  });
  return out;
}

function envLayer(env: NodeJS.ProcessEnv): Layer {
  const out: Layer = new Map();
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined || value === "" || !/^npm_config_/i.test(name)) continue;
    let key = name.slice("npm_config_".length);
    if (!key.startsWith("//")) key = key.replace(/(?!^)_/g, "-").toLowerCase();
    out.set(key, { value, where: `the environment variable ${name}` });
  }
  return out;
}

export interface NpmConfig {
  get(key: string): ConfigValue | undefined;
}

export function readNpmConfig(ctx: ProfileContext): NpmConfig {
  const env = ctx.env;
  const fromEnv = envLayer(env);
  const userFile = fromEnv.get("userconfig")?.value ?? join(homeOf(env), ".npmrc");
  const user = parseNpmrc(isAbsolute(userFile) ? userFile : join(homeOf(env), userFile), env);
  const first = (key: string) => fromEnv.get(key)?.value ?? user.get(key)?.value;
  const npm = whichSync("npm", env, ctx.cwd);
  const node = whichSync("node", env, ctx.cwd);
  const prefix = first("prefix") ?? env.PREFIX ?? dirname(dirname(realOr(node ?? process.execPath)));
  const globalFile = first("globalconfig") ?? join(prefix, "etc", "npmrc");
  const global = parseNpmrc(globalFile, env);
  // npm-cli.js lives in NPMROOT/bin; the built-in config is NPMROOT/npmrc.
  const builtin = npm !== undefined ? parseNpmrc(join(dirname(dirname(realOr(npm))), "npmrc"), env) : new Map();
  const layers: Layer[] = [fromEnv, user, global, builtin];
  return { get: (key) => layers.map((l) => l.get(key)).find((v) => v !== undefined) };
}
