# runner.py -- one boot of an emulated PumpWatch unit on MicroPython's unix
# port == one process (the wasm backend's runner.mjs, for this port):
#
#   micropython -X heapsize=128k runner.py --image FILE --blocks N --block-size N
#       --progsize N --mode main|friendly|raw --cause C --now MS --rtc OFFSET_MS|none
#       --battery MV --measure-heap 0|1 --cut-at-write N --torn 0|1 [--vibration 1]
#
# (values may be padded with spaces: the host keeps the lengths of these
# strings, which live on the heap, the same from boot to boot; unixboot.py
# reads them)
#
# Mounts the littlefs image as "/" (as a board's _boot.py does), boots the
# firmware like pyexec (boot.py, then main.py) and reports to the host over
# hostlink.py.  There is no REPL on this port: after main.py ends (a crash,
# maintenance, Ctrl-C) the unit idles in the "repl" state until reset.
#
# Exit codes (as runner.mjs): 11 soft reset -> main.py, 1 internal error
# (traceback on stderr).  A hard reset or a power cut ends the boot from
# inside the firmware: the runner reports it and stops; the host kills it
# (hostlink.stop).

import gc
import io
import os
import sys
import time
import vfs

import emuhw
import flashdev
import hostlink

_GUEST_DIR = sys.path[0]  # this directory: its frames are left out of tracebacks


def _mount(image, block_size, blocks, progsize):
    """The image as "/" on littlefs2, with a board's sys.path."""
    flash = flashdev.ImageFlash(open(image, "r+b"), block_size, blocks, hostlink.FlashWatch())
    fs = vfs.VfsLfs2(flash, progsize=progsize)
    vfs.umount("/")  # the image file stays open and usable
    vfs.mount(fs, "/")
    os.chdir("/")
    sys.path[:] = ["", ".frozen", "/lib"]


def _report(exc, crash):
    """Print `exc` to the port as a board does; a crash is also told to the host."""
    gc.collect()
    try:
        text = io.StringIO()
        sys.print_exception(exc, text)
        lines = [line for line in text.getvalue().split("\n")
                 if not line.startswith('  File "' + _GUEST_DIR)]
        emuhw.serial_write("\r\n".join(lines))
        if crash:
            hostlink.send({"k": "crash", "error": lines[-2] if len(lines) > 1 else repr(exc)})
    except MemoryError:  # no heap left even to report it
        hostlink.write(b'{"k":"crash","error":"MemoryError (while reporting a crash)"}\n')


def _run_script(name):
    """Run boot.py or main.py as pyexec does; "exit" after SystemExit."""
    micropython = sys.modules["micropython"]
    micropython.kbd_intr(3)  # Ctrl-C interrupts a script unless it says otherwise
    try:
        __import__(name)
    except SystemExit:
        return "exit"
    except KeyboardInterrupt as exc:
        _report(exc, False)
    except BaseException as exc:  # MemoryError included: a crash, never a hang
        _report(exc, True)
    return "ok"


def _soft_reset():
    pending = "".join([chr(c) for c in hostlink.rx])  # a UART keeps its bytes
    emuhw.serial_write("MPY: soft reboot\r\n")
    hostlink.send({"k": "reset", "kind": "soft", "mode": "friendly", "pending": pending})
    sys.exit(11)


def _idle(mode):
    """The REPL state: port input is dropped, Ctrl-D soft-resets into main.py."""
    emuhw.serial_write("\r\nMicroPython unix port (emulator): no REPL; Ctrl-D restarts main.py\r\n")
    hostlink.send({"k": "repl", "mode": mode})
    while True:
        try:
            ev = hostlink.read_event()
            if ev.get("ev") == "serial" and b"\x04" in hostlink.take_rx():
                _soft_reset()
        except Exception:  # a bad line, or no heap for it: wait for the next one
            gc.collect()


def _exists(name):
    try:
        return os.stat(name)[0] & 0x8000 != 0
    except OSError:
        return False


def main():
    started = time.ticks_ms()
    import unixboot
    mode, image, block_size, blocks, progsize = unixboot.start()
    del sys.modules["unixboot"], unixboot  # start-up code: out of RAM
    gc.collect()
    heap_base = gc.mem_alloc()  # the runner's own share (C code on a board)
    try:
        _mount(image, block_size, blocks, progsize)
    except OSError as exc:
        hostlink.send({"k": "boot", "mode": mode, "boot_ms": 0, "heap_base": heap_base})
        _report(exc, True)
        _idle("friendly")
    hostlink.send({"k": "boot", "mode": mode, "heap_base": heap_base,
                   "boot_ms": time.ticks_diff(time.ticks_ms(), started)})
    if _exists("boot.py") and _run_script("boot") == "exit":
        _soft_reset()
    if mode != "raw" and _exists("main.py") and _run_script("main") == "exit":
        _soft_reset()
    _idle("raw" if mode == "raw" else "friendly")


main()
