# hostlink.py -- runs INSIDE MicroPython (unix port), in the emulator's runner.
#
# The wire to the emulator host (host_tools/pumpsync/emulator): newline JSON
# on stdin (events) and stdout (messages), shapes in docs/emulator.md.  Owns
# what the host's events set here: the virtual clock, the battery, the serial
# bytes received, the interrupt character, an armed power cut -- and reading
# the next event, which is the only place the runner ever blocks.
#
# Ending a boot from inside the firmware (power cut, hard reset, the host
# gone) never raises: the firmware catches BaseException to log crashes, and
# this port has no os._exit.  The guest sends its last message and stops
# (stop()); the host ends the process on that message.
#
# Serial input is bounded: the host sends at most RX_WINDOW bytes more than
# the guest has reported taken ({"k":"rx","n":N}), so at most RX_WINDOW bytes
# of port input ever sit on this heap; the rest waits in the host, as a
# board's USB buffer lives outside its heap.

import binascii
import json
import os
import sys

RX_WINDOW = 512  # also the host's UnixBackend.serial_window

_out = sys.stdout.buffer
_in = sys.stdin.buffer

# set from the runner's command line (unixboot.py)
rtc_offset_ms = None  # the RTC's offset from virtual time; None: lost
reset_cause = "power_on"
measure_heap = True
vibration = False  # a vibration motor is fitted

now_ms = 0
battery_mv = 0
rx = bytearray()
interrupt_char = -1
cut_at = 0  # power fails at this flash operation of the boot (0: never)
cut_torn = False
ops_seen = 0


def write(data):
    """Raw bytes to the host (a whole message line, or part of one)."""
    try:
        _out.write(data)
    except OSError:  # EPIPE: the host is gone
        _die()


def send(obj):
    write(json.dumps(obj) + "\n")


def send_serial(data):
    """Bytes to the port, as {"k":"serial","hex":..} lines of <= 128 bytes: the
    only heap used is one small hex string at a time (a UART write needs none)."""
    mv = memoryview(data)
    for start in range(0, len(data), 128):
        digits = binascii.hexlify(mv[start:start + 128])  # a MemoryError here leaves no half line
        write(b'{"k":"serial","hex":"')
        write(digits)
        write(b'"}\n')


def take_rx():
    """Remove and return every queued serial byte, telling the host."""
    global rx
    data, rx = bytes(rx), bytearray()
    if data:
        send({"k": "rx", "n": len(data)})
    return data


def _latin1(text):
    data = text.encode()
    if len(data) != len(text):  # not ASCII: one byte per code point, no list on the heap
        data = bytearray(len(text))
        i = 0
        for c in text:
            data[i] = ord(c)
            i += 1
    return data


def read_event():
    """The next event from the host, with its effect on the state here applied."""
    global now_ms, battery_mv, cut_at, cut_torn
    line = _in.readline()
    if not line:
        stop()  # the host closed the pipe
    ev = json.loads(line)
    kind = ev.get("ev")
    if "now" in ev:
        now_ms = int(ev["now"])
    if kind == "serial":
        # hex, not JSON-escaped text: random bytes escape to 6 characters each, and this heap
        # is the firmware's (a board's UART/USB buffer is C, outside it)
        rx.extend(binascii.unhexlify(ev["hex"]) if "hex" in ev else _latin1(ev.get("data", "")))
    elif kind == "battery":
        battery_mv = ev["mv"]
    elif kind == "cut":
        cut_at = ops_seen + ev["after"]
        cut_torn = bool(ev.get("torn"))
    elif kind == "kill":
        stop()
    return ev


def drop_interrupts(since):
    """Remove the interrupt char from rx[since:]; True if there was one."""
    global rx
    if interrupt_char < 0 or interrupt_char not in rx[since:]:
        return False
    kept = bytearray(rx[:since])
    for c in rx[since:]:
        if c != interrupt_char:
            kept.append(c)
    dropped = len(rx) - len(kept)
    rx = kept
    send({"k": "rx", "n": dropped})
    return True


class FlashWatch:
    """Told of every block program/erase (flashdev.ImageFlash): reports it to
    the host and carries out an armed power cut.  Allocates nothing."""

    def __init__(self):
        # {"k":"flash","op":"prog" ,"block":NNNNNN,"bytes":NNNNNN}: fixed-width
        # fields filled in place (JSON allows the padding spaces)
        self._msg = bytearray(b'{"k":"flash","op":"erase","block":      ,"bytes":      }\n')
        self._cutting = False

    def before(self, op, block, size):
        global ops_seen
        ops_seen += 1
        if ops_seen == cut_at:  # this one never completes: not reported as done
            self._cutting = True
            return size // 2 if cut_torn else 0
        msg = self._msg
        msg[_OP:_OP + 7] = b'"prog" ' if op == 1 else b'"erase"'
        _digits(msg, _BLOCK, 6, block)
        _digits(msg, _BYTES, 6, size if op == 1 else 0)
        write(msg)
        return size

    def after(self):
        if self._cutting:
            write(b'{"k":"power_cut"}\n')
            stop()


_OP, _BLOCK, _BYTES = 18, 34, 49  # offsets of the fields in FlashWatch._msg


def _digits(buf, start, width, value):
    pos = start + width - 1
    while pos >= start:
        buf[pos] = 48 + value % 10 if (value or pos == start + width - 1) else 32
        value //= 10
        pos -= 1


def stop():
    """This boot is over: do nothing more, ever.  The host kills the process
    on the message sent before; if the host is gone, it ends itself."""
    buf = bytearray(64)
    while True:
        if not _in.readinto(buf):
            _die()


def _die():
    """The host is gone: end this process now, without running any more
    firmware code (no os._exit on this port; $PPID of that shell is us)."""
    while True:
        os.system("kill -9 $PPID")
