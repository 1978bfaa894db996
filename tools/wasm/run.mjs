// Run a Python script on the 32-bit MicroPython webassembly port under node.
// usage: node run.mjs LIBDIR SCRIPT [HEAPSIZE]
// LIBDIR (the project's lib/) is copied into the port's in-memory filesystem
// as /lib and put on sys.path. Exit status 1 when the script raised.
import { loadMicroPython } from "@micropython/micropython-webassembly-pyscript/micropython.mjs";
import fs from "node:fs";
import path from "node:path";

const [libdir, script, heap] = process.argv.slice(2);
const mp = await loadMicroPython({
  heapsize: parseInt(heap || "8388608"),
  pystack: 8192,
  stdout: (s) => process.stdout.write(s + "\n"),
  stderr: (s) => process.stderr.write(s + "\n"),
});
function copy(src, dst) {
  mp.FS.mkdirTree(dst);
  for (const name of fs.readdirSync(src)) {
    const p = path.join(src, name);
    if (fs.statSync(p).isDirectory()) { if (name !== "__pycache__") copy(p, dst + "/" + name); }
    else if (name.endsWith(".py")) mp.FS.writeFile(dst + "/" + name, fs.readFileSync(p));
  }
}
copy(libdir, "/lib");
let status = 0;
try {
  mp.runPython("import sys\nsys.path.append('/lib')\n" + fs.readFileSync(script, "utf8"));
} catch (e) {
  process.stderr.write(String(e.message || e) + "\n");
  status = 1;
}
// Exit once stdout and stderr have written everything (their write callbacks), not by
// process.exit() at once (that dropped what a slow pipe had not taken yet) nor by letting the
// event loop run dry: node 20 then waits in NodePlatform::DrainTasks for background tasks
// (WebAssembly compilation) and, seen once in a CI run, never returned (0.1 s of CPU, then
// asleep until the test's 600 s bound; nodejs/node#54918 is the same wait at shutdown).
process.exitCode = status;
process.stdout.write("", () => process.stderr.write("", () => process.exit(status)));
