# unixboot.py -- runs INSIDE MicroPython (unix port): the emulator runner's
# start-up, dropped from RAM once done (runner.py deletes it).
#
# Owns reading the runner's command line into hostlink.py's state, and making
# `import micropython` give a copy whose kbd_intr() records the interrupt
# char for hostlink (the builtin module cannot be patched).  Numbers are read
# without copying their (space-padded) text, and sys.argv is emptied as on a
# board, so the heap holds the same objects whatever the boot's options.

import sys

import hostlink


def start():
    """Configure hostlink; return (mode, image name, block size, blocks, progsize)."""
    opts = {"--mode": "main", "--cause": "power_on", "--now": "0", "--rtc": "none", "--battery": "3900",
            "--measure-heap": "1", "--cut-at-write": "0", "--torn": "0", "--progsize": "256"}
    argv = sys.argv
    for i in range(1, len(argv) - 1, 2):
        opts[argv[i]] = argv[i + 1]
    hostlink.now_ms = int(opts["--now"])
    hostlink.battery_mv = int(opts["--battery"])
    rtc = opts["--rtc"].strip()
    hostlink.rtc_offset_ms = None if rtc in ("", "none") else int(rtc)
    hostlink.reset_cause = opts["--cause"].strip()
    hostlink.measure_heap = int(opts["--measure-heap"]) != 0
    hostlink.vibration = "--vibration" in opts  # given only with a motor (backends.Boot.argv)
    hostlink.cut_at = int(opts["--cut-at-write"])
    hostlink.cut_torn = int(opts["--torn"]) != 0
    _install_kbd_intr()
    mount = (opts["--mode"].strip(), opts["--image"].strip(), int(opts["--block-size"]), int(opts["--blocks"]),
             int(opts["--progsize"]))
    sys.argv[:] = []
    return mount


def _install_kbd_intr():
    import micropython as real

    class Micropython:
        def __getattr__(self, name):  # everything else: the builtin module's
            return getattr(real, name)

        def kbd_intr(self, char):
            hostlink.interrupt_char = char
            real.kbd_intr(char)

    sys.modules["micropython"] = Micropython()
