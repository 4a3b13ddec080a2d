// runner.mjs -- one boot of an emulated PumpWatch unit == one node process.
//
//   node runner.mjs --flash DIR --mode main|friendly|raw [--now MS] [--rtc OFFSET_MS] [--battery MV]
//                   [--heap BYTES] [--window N] [--cook 0|1] [--measure-heap 0|1] [--vibration 1]
//
// Runs the firmware under the official MicroPython WebAssembly port.  Talks
// newline-delimited JSON with the parent (host_tools/pumpsync/emulator/board.py,
// message shapes in docs/emulator.md) on stdin/stdout.  Everything after loading
// is synchronous: we only block in fs.readSync(0), while the firmware sleeps
// between steps or while the REPL needs a byte.
//
// The firmware sleeps through its HAL: hal.run(step) hands us `step`, and we
// call it once per wake-up as a top-level call.  That matters: this port only
// garbage-collects when control returns to JS (MICROPY_GC_SPLIT_HEAP_AUTO), so
// a firmware loop blocking inside one call would never free memory.
//
// Exit codes: 0 parent closed stdin, 10 soft reset -> next boot raw REPL,
//             11 soft reset -> next boot friendly (runs main.py),
//             12 hard reset (machine.reset()), 1 internal error.

import fs from "node:fs";
import path from "node:path";
import crypto from "node:crypto";
import { fileURLToPath } from "node:url";

const HERE = path.dirname(fileURLToPath(import.meta.url));

// ---------------------------------------------------------------- args
const args = { flash: null, mode: "main", now: "0", heap: String(1024 * 1024), window: "4096", cook: "1",
  "measure-heap": "1", rtc: "", battery: "3900", cause: "power_on", "cut-at-write": "0", torn: "0",
  vibration: "0" };
// (--torn is accepted for the common command line: a cut file commit always leaves a torn temp file.)
for (let i = 2; i < process.argv.length; i += 2) {
  const k = process.argv[i].replace(/^--/, "");
  if (!(k in args)) die(`unknown option ${process.argv[i]}`);
  args[k] = process.argv[i + 1];
}
if (!args.flash) die("--flash DIR required");
const FLASH = path.resolve(args.flash);
// --window 0 answers raw-paste requests with R\x00 (host falls back to the plain raw REPL).
const RAW_PASTE_WINDOW = args.window === "0" ? 0 : Math.max(16, Math.min(0xffff, parseInt(args.window, 10)));
let nowStr = String(BigInt(args.now)); // virtual ms, kept as a decimal string (can exceed 2**31)

function die(msg) {
  fs.writeSync(2, `runner: ${msg}\n`);
  process.exit(1);
}
// Never let Node print a stack that quotes the minified micropython.mjs line
// (it is a 100 KB single line).
process.on("uncaughtException", (e) => die(`uncaught: ${String(e && e.message).slice(0, 500)}`));

// ---------------------------------------------------------------- raw fd I/O
// fd 0/1 are pipes.  We never touch process.stdin/stdout (that would make
// libuv switch them to non-blocking), but still handle EAGAIN defensively.
const sleepArr = new Int32Array(new SharedArrayBuffer(4));
const msleep = (ms) => Atomics.wait(sleepArr, 0, 0, ms);

function writeAll(fd, buf) {
  let off = 0;
  while (off < buf.length) {
    try {
      off += fs.writeSync(fd, buf, off, buf.length - off);
    } catch (e) {
      if (e.code === "EAGAIN") { msleep(1); continue; }
      if (e.code === "EPIPE") process.exit(0); // parent gone
      throw e;
    }
  }
}

// Serial output is coalesced and flushed before any other message so the
// parent sees events in program order.
let serialOut = [];
let outFilter = null; // {drop: "OK"} -- strips the raw REPL "OK" during raw-paste exec
let outMuted = false;

function serialByte(c) {
  if (outMuted) return;
  if (outFilter) {
    if (c === outFilter.drop.charCodeAt(outFilter.i)) {
      if (++outFilter.i === outFilter.drop.length) outFilter = null;
      return;
    }
    outFilter = null;
  }
  serialOut.push(c);
  lastOut = c;
  if (serialOut.length >= 8192) flushSerial();
}
// Program output (print) is "cooked" like a board's mp_hal_stdout_tx_strn_cooked:
// a lone \n becomes \r\n.  The wasm port's stdout is uncooked (only its REPL
// framing uses \r\n).  Bytes written via emuhw.serial_write are not cooked.
let lastOut = 0;
// --cook 0 turns this off: needed for `mpremote mount`, whose binary protocol
// goes through sys.stdout.buffer (same fd as print() in this port), where a
// 0x0a length byte would become 0d 0a.
const COOK = args.cook !== "0";
const MEASURE_HEAP = args["measure-heap"] !== "0";
function cookedByte(c) {
  if (COOK && c === 10 && lastOut !== 13) serialByte(13);
  serialByte(c);
}
function serialStr(s) { for (let i = 0; i < s.length; i++) serialByte(s.charCodeAt(i) & 0xff); }
function flushSerial() {
  if (!serialOut.length) return;
  const data = Buffer.from(serialOut).toString("latin1");
  serialOut = [];
  writeAll(1, Buffer.from(JSON.stringify({ k: "serial", data }) + "\n"));
}
function send(obj) {
  flushSerial();
  writeAll(1, Buffer.from(JSON.stringify(obj) + "\n"));
}
function sendRaw(jsonLine) { // already-serialised JSON from Python
  flushSerial();
  writeAll(1, Buffer.from(jsonLine + "\n"));
}

// Input: newline-delimited JSON events, read synchronously.
let inBuf = Buffer.alloc(0);
const rdChunk = Buffer.alloc(65536);
function readLine() {
  for (;;) {
    const nl = inBuf.indexOf(10);
    if (nl >= 0) {
      const line = inBuf.subarray(0, nl).toString("utf8");
      inBuf = inBuf.subarray(nl + 1);
      return line;
    }
    let n;
    try {
      n = fs.readSync(0, rdChunk, 0, rdChunk.length, null);
    } catch (e) {
      if (e.code === "EAGAIN") { msleep(1); continue; }
      if (e.code === "EOF") n = 0; else throw e;
    }
    if (n === 0) { flushSerial(); process.exit(0); } // parent closed the pipe
    inBuf = Buffer.concat([inBuf, rdChunk.subarray(0, n)]);
  }
}

// Serial input queue (bytes from the pty, not yet consumed by REPL/firmware).
let serialIn = [];
let serialInPos = 0;
const serialAvail = () => serialIn.length - serialInPos;
function serialPush(latin1) {
  for (let i = 0; i < latin1.length; i++) serialIn.push(latin1.charCodeAt(i) & 0xff);
}
function serialShift() {
  const c = serialIn[serialInPos++];
  if (serialInPos > 4096 && serialInPos * 2 > serialIn.length) { serialIn = serialIn.slice(serialInPos); serialInPos = 0; }
  return c;
}

// Read one event line, apply the common parts (virtual clock, serial bytes).
function nextEvent() {
  const line = readLine();
  let ev;
  try { ev = JSON.parse(line); } catch { die(`bad event line: ${line.slice(0, 200)}`); }
  if (ev.now !== undefined) nowStr = String(ev.now);
  if (ev.ev === "serial" && ev.data) serialPush(ev.data);
  if (ev.ev === "kill") { flushSerial(); process.exit(0); }
  if (ev.ev === "battery") batteryMv = ev.mv;
  if (ev.ev === "cut") cutAtWrite = flashOpsSeen + ev.after; // power fails during that flash op
  return ev;
}

// Block until at least one serial byte is queued (REPL / stdin side).
// Ticks and hardware events are irrelevant while nobody is in wait().
function serialGetBlocking() {
  while (serialAvail() === 0) { flushSerial(); nextEvent(); }
  return serialShift();
}

// ---------------------------------------------------------------- interpreter
// HEAPU8 / wasmMemory are NOT exported by this build (accessing them calls
// abort()).  Capture the Memory object when the module is instantiated.
let wasmMemory = null;
{
  const orig = WebAssembly.instantiate;
  WebAssembly.instantiate = async function (...a) {
    const r = await orig.apply(this, a);
    wasmMemory = (r.instance || r).exports.memory;
    return r;
  };
}
const heap = (addr, n) => new Uint8Array(wasmMemory.buffer, addr, n); // fresh view: memory may grow

const tBoot0 = performance.now();
const { loadMicroPython } = await import("@micropython/micropython-webassembly-pyscript");
const mp = await loadMicroPython({
  heapsize: parseInt(args.heap, 10),
  linebuffer: false,
  stdout: (u8) => { for (const c of u8) cookedByte(c); },
  stderr: (u8) => { for (const c of u8) cookedByte(c); },
  // sys.stdin reads block for serial input, like a board's UART.
  stdin: () => serialGetBlocking(),
});
const M = mp._module;

// ---------------------------------------------------------------- JS modules
// Rule: these functions must never throw.  A JS exception does not become a
// Python exception: it unwinds through the VM and out of runPython, skipping
// every Python try/except (and leaves the VM in an undefined state).
const safe = (f, dflt) => (...a) => {
  try { return f(...a); } catch (e) { fs.writeSync(2, `runner: JS error in module fn: ${e && e.stack}\n`); return dflt; }
};

// --- host flash directory -------------------------------------------------
const ERRNO = { EPERM: 1, ENOENT: 2, EIO: 5, EBADF: 9, EACCES: 13, EBUSY: 16, EEXIST: 17, EXDEV: 18,
  ENODEV: 19, ENOTDIR: 20, EISDIR: 21, EINVAL: 22, ENOSPC: 28, EROFS: 30, ENAMETOOLONG: 36, ENOTEMPTY: 39 };
const TMP_PREFIX = ".emu-tmp-";
const errno = (e) => -(ERRNO[e && e.code] || 5); // negative MicroPython errno
function hostPath(p) {
  // p is an absolute, normalised flash path from emuvfs.py ('/a/b').
  const h = path.join(FLASH, p);
  if (h !== FLASH && !h.startsWith(FLASH + path.sep)) throw Object.assign(new Error("escape"), { code: "EINVAL" });
  return h;
}
function fsyncDir(d) { const fd = fs.openSync(d, "r"); try { fs.fsyncSync(fd); } finally { fs.closeSync(fd); } }
let loaded = null;
// --cut-at-write N: power is lost during the N-th flash operation of this boot
// (a write leaves a torn temp file that is never renamed): exit code 99.
let cutAtWrite = parseInt(args["cut-at-write"], 10) || 0;
let flashOpsSeen = 0;
const EXIT_POWER_CUT = 99;
function powerCutNow(tornTmp, data) {
  flashOpsSeen++;
  if (cutAtWrite === 0 || flashOpsSeen !== cutAtWrite) return;
  if (tornTmp) {
    try { fs.writeFileSync(tornTmp, Buffer.from(data.subarray(0, Math.floor(data.length / 2)))); } catch { /* ignore */ }
  }
  flushSerial();
  writeAll(1, Buffer.from(JSON.stringify({ k: "power_cut", at_write: cutAtWrite }) + "\n"));
  process.exit(EXIT_POWER_CUT);
}
const flashOps = {
  stat: safe((p) => {
    try {
      const st = fs.statSync(hostPath(p));
      return JSON.stringify([st.isDirectory() ? 0x4000 : 0x8000, st.isDirectory() ? 0 : st.size, Math.floor(st.mtimeMs / 1000)]);
    } catch (e) { return errno(e); }
  }, -5),
  listdir: safe((p) => {
    try {
      const out = [];
      for (const d of fs.readdirSync(hostPath(p), { withFileTypes: true })) {
        if (d.name.startsWith(TMP_PREFIX)) continue;
        const isDir = d.isDirectory();
        const size = isDir ? 0 : fs.statSync(path.join(hostPath(p), d.name)).size;
        out.push([d.name, isDir ? 0x4000 : 0x8000, size]);
      }
      return JSON.stringify(out);
    } catch (e) { return errno(e); }
  }, -5),
  load: safe((p) => {
    try {
      const h = hostPath(p);
      if (fs.statSync(h).isDirectory()) return -21;
      loaded = fs.readFileSync(h);
      return loaded.length;
    } catch (e) { return errno(e); }
  }, -5),
  take: safe((addr) => {
    const n = loaded.length;
    heap(addr, n).set(loaded);
    loaded = null;
    return n;
  }, -5),
  commit: safe((p, addr, n, programmed) => {
    // Power-loss safe: tmp file + fsync + rename + fsync(dir).
    try {
      const h = hostPath(p);
      const tmp = path.join(path.dirname(h), `${TMP_PREFIX}${process.pid}`);
      powerCutNow(tmp, heap(addr, n));
      const fd = fs.openSync(tmp, "w");
      try {
        fs.writeSync(fd, Buffer.from(heap(addr, n))); // copy: heap view must not outlive this call
        fs.fsyncSync(fd);
      } finally { fs.closeSync(fd); }
      fs.renameSync(tmp, h);
      fsyncDir(path.dirname(h));
      send({ k: "flash", op: "write", path: p, bytes: programmed === undefined ? n : programmed });
      return 0;
    } catch (e) { return errno(e); }
  }, -5),
  mkdir: safe((p) => {
    try { if (fs.existsSync(hostPath(p))) return -17; powerCutNow(null); fs.mkdirSync(hostPath(p)); fsyncDir(path.dirname(hostPath(p))); send({ k: "flash", op: "mkdir", path: p, bytes: 0 }); return 0; }
    catch (e) { return errno(e); }
  }, -5),
  rmdir: safe((p) => {
    try {
      if (p === "/") return -16; // EBUSY, like removing a mount point
      const h = hostPath(p);
      if (!fs.statSync(h).isDirectory()) return -20;
      powerCutNow(null);
      fs.rmdirSync(h); fsyncDir(path.dirname(h));
      send({ k: "flash", op: "rmdir", path: p, bytes: 0 });
      return 0;
    } catch (e) { return errno(e); }
  }, -5),
  remove: safe((p) => {
    try {
      const h = hostPath(p);
      if (fs.statSync(h).isDirectory()) return -21; // EISDIR (unlink of a dir)
      powerCutNow(null);
      fs.unlinkSync(h); fsyncDir(path.dirname(h));
      send({ k: "flash", op: "remove", path: p, bytes: 0 });
      return 0;
    } catch (e) { return errno(e); }
  }, -5),
  rename: safe((a, b) => {
    try {
      fs.statSync(hostPath(a));
      powerCutNow(null);
      fs.renameSync(hostPath(a), hostPath(b)); fsyncDir(path.dirname(hostPath(b)));
      send({ k: "flash", op: "rename", path: a, to: b, bytes: 0 });
      return 0;
    } catch (e) { return errno(e); }
  }, -5),
  statvfs: safe(() => {
    // Pretend to be a 2 MiB littlefs with 4 KiB blocks.
    const bs = 4096, blocks = 512;
    let used = 0;
    const walk = (d) => { for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const f = path.join(d, e.name); used += 1; if (e.isDirectory()) walk(f); else used += Math.ceil(fs.statSync(f).size / bs); } };
    walk(FLASH);
    const free = Math.max(0, blocks - used);
    return JSON.stringify([bs, bs, blocks, free, free, 0, 0, 0, 0, 255]);
  }, "[4096,4096,512,0,0,0,0,0,0,255]"),
};

// --- emulated hardware ------------------------------------------------------
let waitSeq = 0;
let driver = null;        // PyProxy of the firmware's step(event_json) -> until_ms string
let fedThisStep = false;  // the firmware fed the watchdog during the current step
let maintenanceMs = null; // the firmware asked to leave its loop for the REPL
let batteryMv = parseInt(args.battery, 10);

const hwOps = {
  now: safe(() => nowStr, "0"),
  // run(step): the firmware's HAL hands over its step function; we call it
  // once per wake-up after main.py returns (see drive()).
  run: safe((fn) => { driver = fn; return 0; }, -5),
  watchdog_feed: safe(() => { fedThisStep = true; return 0; }, -5),
  maintenance: safe((msText) => { maintenanceMs = Number(msText); return 0; }, -5),
  emit: safe((jsonLine) => { sendRaw(jsonLine); return 0; }, -5),
  serial_write: safe((addr, n) => { for (const c of heap(addr, n)) serialByte(c); return n; }, -5),
  serial_avail: safe(() => serialAvail(), 0),
  serial_take: safe((addr, n) => { const v = heap(addr, n); for (let i = 0; i < n; i++) v[i] = serialShift(); return n; }, 0),
  // The unit's os.urandom: the host's cryptographic random source.
  random_fill: safe((addr, n) => { crypto.randomFillSync(heap(addr, n)); return n; }, 0),
  // Real-time clock: offset (ms, text) of the RTC from virtual time, "" when lost.
  rtc: safe(() => args.rtc, ""),
  battery: safe(() => batteryMv, 0),
  vibration: safe(() => (args.vibration === "1" ? 1 : 0), 0), // a vibration motor is fitted
  reset_cause: safe(() => args.cause, "power_on"),
};


// Sleep until the parent ends wait #seq: returns the wake event as a JSON
// string for the firmware, or null when the interrupt char (Ctrl-C unless
// micropython.kbd_intr(-1)) arrived -- a board then raises KeyboardInterrupt.
function sleepUntilWake(seq) {
  for (;;) {
    const before = serialAvail();
    const ev = nextEvent();
    if (ev.ev === "tick") {
      if (ev.seq !== undefined && ev.seq !== seq) continue; // stale tick for an earlier wait
      return JSON.stringify({ ev: "tick", now: ev.now });
    }
    if (ev.ev === "serial") {
      const ic = M._mp_hal_get_interrupt_char();
      let intr = false;
      if (ic >= 0) {
        const keep = [];
        for (let i = serialInPos; i < serialIn.length; i++) {
          if (i >= serialInPos + before && serialIn[i] === ic) intr = true; else keep.push(serialIn[i]);
        }
        serialIn = keep; serialInPos = 0;
      }
      if (intr) return null;
      return JSON.stringify({ ev: "serial", now: ev.now, n: serialAvail() });
    }
    if (ev.ev === "cut") continue; // armed a power cut: nothing for the firmware to see
    return JSON.stringify(ev); // button etc.: passed through verbatim
  }
}

// The firmware's event loop on this target: step, report the deadline (and
// the live heap after a full collection), sleep until woken, repeat.
function drive() {
  const gc = mp.pyimport("gc");
  let event = JSON.stringify({ ev: "boot", now: nowStr });
  for (;;) {
    fedThisStep = false;
    let until;
    try {
      until = driver(event);
    } catch (e) {
      if (e.name !== "PythonError") throw e;
      if (e.type === "SystemExit") return "exit";
      printPythonError(e);
      return "crash";
    }
    if (maintenanceMs !== null) {
      send({ k: "maintenance", ms: maintenanceMs });
      return "maintenance";
    }
    let heapBytes = null;
    if (MEASURE_HEAP) { gc.collect(); heapBytes = gc.mem_alloc(); } // collect runs as this call returns
    const seq = ++waitSeq;
    send({ k: "wait", until: until === "" || until == null ? null : Number(until), seq, heap: heapBytes,
      fed: fedThisStep });
    event = sleepUntilWake(seq);
    if (event === null) {
      serialStr("Traceback (most recent call last):\r\n  File \"main.py\", in <module>\r\nKeyboardInterrupt: \r\n");
      return "interrupted";
    }
  }
}

// --- REPL state, resets ----------------------------------------------------
let replMode = "friendly"; // tracked: friendly <-> raw (Ctrl-A / Ctrl-B)

function softReset(nextMode) {
  // Unconsumed input is handed back so the parent can replay it to the next
  // boot (a UART keeps its buffered bytes over a soft reset).
  const pending = Buffer.from(serialIn.slice(serialInPos)).toString("latin1");
  serialStr("MPY: soft reboot\r\n");
  send({ k: "reset", kind: "soft", mode: nextMode, pending });
  process.exit(nextMode === "raw" ? 10 : 11);
}
function hardReset() {
  send({ k: "reset", kind: "hard", mode: "main", pending: "" });
  process.exit(12);
}

const machine = {
  reset: safe(() => hardReset(), null),
  soft_reset: safe(() => softReset(replMode), null),
  // (Pin/PWM/... classes are better written in Python on top of _emuhw.)
};

mp.registerJsModule("_emufs", flashOps);
mp.registerJsModule("_emuhw", hwOps);
mp.registerJsModule("machine", machine);

// --- load our Python helpers, then replace '/' by the host-backed VFS ------
// The helpers are imported from Emscripten's MEMFS *before* the root swap and
// stay in sys.modules; the firmware never sees them on its flash.
M.FS.mkdir("/emu");
for (const f of ["emuhw.py", "emuvfs.py"]) M.FS.writeFile(`/emu/${f}`, fs.readFileSync(path.join(HERE, "guest", f)));
for (const ent of fs.readdirSync(FLASH)) if (ent.startsWith(TMP_PREFIX)) fs.unlinkSync(path.join(FLASH, ent)); // torn commits
mp.runPython(`
import sys, vfs
sys.path.insert(0, '/emu')
import emuhw, emuvfs
sys.path.pop(0)
vfs.umount('/')
vfs.mount(emuvfs.HostVFS(), '/')
import os
os.chdir('/')
sys.path[:] = ['', '.frozen', '/lib']
del sys, vfs, os
`);
const bootMs = performance.now() - tBoot0;

// ---------------------------------------------------------------- run
function existsOnFlash(name) { try { return fs.statSync(path.join(FLASH, name)).isFile(); } catch { return false; } }

// Print an uncaught Python exception like a board does.  Drop the frames of
// our own wrapper code ("<stdin>" = the import line, /emu/ = emuhw.py).
// Unless it was Ctrl-C, the host is told the firmware crashed.
function printPythonError(e) {
  const lines = e.message.split("\n").filter((l) => !/^  File "(<stdin>|\/emu\/[^"]*)", line \d+/.test(l));
  serialStr(lines.join("\n").replace(/\r?\n/g, "\r\n")); // board prints tracebacks cooked
  if (e.type !== "KeyboardInterrupt") send({ k: "crash", error: lines.filter((l) => l.trim()).pop() || e.type });
}

// Run a script the way a board's pyexec_file does; returns "exit" on SystemExit.
function runFile(modName) {
  try {
    // Ctrl-C is the interrupt char while a script runs (pyexec sets it).
    mp.runPython(`import micropython\nmicropython.kbd_intr(3)\nimport ${modName}`);
  } catch (e) {
    if (e.name !== "PythonError") throw e;
    if (e.type === "SystemExit") return "exit";
    printPythonError(e);
  } finally {
    if (!driver) try { mp.runPython("import micropython\nmicropython.kbd_intr(-1)"); } catch { /* ignore */ }
  }
  return "ok";
}

// The emulator's own share of the heap (VFS, emuhw; C code on a real board).
const gcModule = mp.pyimport("gc");
gcModule.collect();
const heapBase = gcModule.mem_alloc();
send({ k: "boot", mode: args.mode, boot_ms: Math.round(bootMs * 10) / 10, pid: process.pid, heap_base: heapBase });

if (existsOnFlash("boot.py") && runFile("boot") === "exit") softReset("friendly");
if (args.mode !== "raw" && existsOnFlash("main.py")) {
  if (runFile("main") === "exit") softReset("friendly");
  if (driver) {
    const how = drive();
    driver = null;
    if (how !== "maintenance") {
      try { mp.runPython("import micropython\nmicropython.kbd_intr(-1)"); } catch { /* ignore */ }
    }
    if (how === "exit") softReset("friendly");
  }
}

// Friendly REPL banner, or straight into the raw REPL.
if (args.mode === "raw") {
  outMuted = true; mp.replInit(); mp.replProcessChar(0x01); outMuted = false;
  replMode = "raw";
  serialStr("raw REPL; CTRL-B to exit\r\n>");
} else {
  mp.replInit();
}
send({ k: "repl", mode: replMode });

function feed(c) {
  const r = mp.replProcessChar(c);
  if (replMode === "friendly" && c === 0x01) replMode = "raw";
  else if (replMode === "raw" && c === 0x02) replMode = "friendly";
  if (r !== 0) softReset(replMode);
}

// Raw-paste mode (`\x05A\x01` in the raw REPL).  replProcessChar does not
// implement it (it spins at 100 % CPU), so we do the flow control here and
// then hand the collected code to the ordinary raw REPL, dropping its "OK".
function rawPaste() {
  if (RAW_PASTE_WINDOW === 0) { serialStr("R\x00"); flushSerial(); return; } // "not supported": mpremote falls back
  serialStr("R\x01" + String.fromCharCode(RAW_PASTE_WINDOW & 0xff, RAW_PASTE_WINDOW >> 8));
  flushSerial();
  const code = [];
  let remain = RAW_PASTE_WINDOW;
  for (;;) {
    const c = serialGetBlocking();
    if (c === 0x04) break; // end of data
    if (c === 0x03) { serialStr("\x04"); flushSerial(); return; } // host aborted (not done by mpremote)
    code.push(c);
    if (--remain === 0) { serialStr("\x01"); flushSerial(); remain += RAW_PASTE_WINDOW; }
  }
  serialStr("\x04"); // acknowledge end of data; then output \x04 error \x04 >
  flushSerial();
  for (const c of code) mp.replProcessChar(c); // raw REPL just accumulates (no echo)
  outFilter = { drop: "OK", i: 0 };
  feed(0x04);
  outFilter = null;
}

for (;;) {
  flushSerial();
  const c = serialGetBlocking();
  if (replMode === "raw" && c === 0x05) {
    const c2 = serialGetBlocking();
    if (c2 === 0x41) {
      const c3 = serialGetBlocking();
      if (c3 === 0x01) { rawPaste(); continue; }
      feed(c); feed(c2); feed(c3);
    } else { feed(c); feed(c2); }
    continue;
  }
  feed(c);
}
