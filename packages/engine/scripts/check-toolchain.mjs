// Fails the build early, with the package to install, when the native toolchain is missing.
// node-gyp's own errors on a bare machine are long and do not name the Debian/Ubuntu package.
import { execFileSync } from "node:child_process";

const needed = [
  ["cc", "a C compiler", "build-essential (Debian/Ubuntu) or gcc (Fedora)"],
  ["make", "make", "build-essential (Debian/Ubuntu) or make (Fedora)"],
  ["python3", "Python 3 (node-gyp runs on it)", "python3"],
];
const missing = needed.filter(([cmd]) => {
  try {
    execFileSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" });
    return false;
  } catch {
    return true;
  }
});
if (missing.length > 0) {
  for (const [cmd, what, pkg] of missing) {
    process.stderr.write(`mcp-j build: ${what} (\`${cmd}\`) not found: install ${pkg}, then run npm install again\n`);
  }
  process.exit(1);
}
