// Builds packages/engine/native with node-gyp against the headers of the Node that runs us.
// Offline by design: when this Node ships its headers (distribution packages put them in
// <prefix>/include/node), point node-gyp there instead of letting it download a tarball.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const pkgDir = dirname(dirname(fileURLToPath(import.meta.url)));
const require = createRequire(import.meta.url);
const nodeGyp = require.resolve("node-gyp/bin/node-gyp.js");
const prefix = dirname(dirname(process.execPath));
const args = [nodeGyp, "rebuild", "--directory", pkgDir];
if (existsSync(join(prefix, "include/node/node_api.h"))) args.push(`--nodedir=${prefix}`);
const r = spawnSync(process.execPath, args, { stdio: "inherit" });
if (r.status !== 0) {
  process.stderr.write(
    "mcp-j build: the native helper did not build (see the compiler output above). It needs gcc, make, " +
      "python3 and Node's headers (Debian: apt-get install build-essential python3 nodejs-dev or libnode-dev)\n",
  );
  process.exit(r.status ?? 1);
}
