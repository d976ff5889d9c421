// The node profile: the Node runtime that will run, readable and executable.
//
//   binary   the `node` the command names (a path, or a name looked up in mcp-j's PATH), else the
//            `node` in PATH, else the node running mcp-j; exec of it and of its real path.
//   prefix   PREFIX of PREFIX/bin/node, read-only, when it is a Node installation (it has
//            lib/node_modules or include/node: nvm, volta, /opt/node...) and not a directory that
//            is too wide to grant (~/bin/node grants the binary alone). /usr needs no grant.
import { existsSync } from "node:fs";
import { basename, join } from "node:path";
import type { PolicyInput } from "../schema.js";
import { homeOf, prefixOfBin, realOr, roGrants, tooWide, uniq, whichSync, type ProfileContext } from "./common.js";
import { memoByFiles } from "./runtime-cache.js";

export interface NodeRuntime {
  /** The host path the jail executes. */
  path: string;
  real: string;
  /** What to grant read-only: the installation prefix, or the binary alone. */
  ro: string[];
}

export function isNodeName(cmd: string): boolean {
  return /^(node|nodejs)$/.test(basename(cmd));
}

export function nodeRuntime(ctx: ProfileContext, name?: string): NodeRuntime {
  const named = name ?? (ctx.command?.[0] !== undefined && isNodeName(ctx.command[0]) ? ctx.command[0] : undefined);
  const path = (named !== undefined ? whichSync(named, ctx.env, ctx.cwd) : undefined) ?? whichSync("node", ctx.env, ctx.cwd) ?? process.execPath;
  return memoByFiles("node", [path], homeOf(ctx.env), () => {
    const real = realOr(path);
    const prefix = prefixOfBin(real);
    const isInstall = prefix !== undefined && (existsSync(join(prefix, "lib", "node_modules")) || existsSync(join(prefix, "include", "node")));
    return { path, real, ro: isInstall && !tooWide(prefix, ctx.env) ? [prefix] : [real] };
  });
}

export function nodeProfile(ctx: ProfileContext): PolicyInput {
  const node = nodeRuntime(ctx);
  return { filesystem: { ro: roGrants(node.ro), exec: uniq([node.path, node.real]) } };
}
