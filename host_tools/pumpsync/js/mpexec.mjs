// Run Python code under the official MicroPython WebAssembly port, one
// interpreter per process.  Usage: node mpexec.mjs ROOT < code.py
// ROOT (a host directory, e.g. firmware/) is copied into the interpreter's
// filesystem at /flash and put first on sys.path.  The code's stdout is
// ours; an uncaught Python exception goes to stderr with exit code 1.
import fs from "node:fs";
import path from "node:path";
import { loadMicroPython } from "@micropython/micropython-webassembly-pyscript";

function copyTree(mp, hostDir, guestDir) {
  mp.FS.mkdir(guestDir);
  for (const entry of fs.readdirSync(hostDir, { withFileTypes: true })) {
    if (entry.name === "__pycache__") continue;
    const host = path.join(hostDir, entry.name);
    const guest = guestDir + "/" + entry.name;
    if (entry.isDirectory()) copyTree(mp, host, guest);
    else mp.FS.writeFile(guest, fs.readFileSync(host));
  }
}

const root = process.argv[2];
const code = fs.readFileSync(0, "utf8");
const mp = await loadMicroPython({
  linebuffer: true,
  stdout: (line) => process.stdout.write(line + "\n"),
  stderr: (line) => process.stderr.write(line + "\n"),
});
copyTree(mp, root, "/flash");
try {
  mp.runPython("import sys\nsys.path.insert(0, '/flash')");
  mp.runPython(code);
} catch (err) {
  process.stderr.write(String(err && err.message ? err.message : err) + "\n");
  process.exitCode = 1;
}
