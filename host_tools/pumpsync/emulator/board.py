"""One emulated unit's processes and wires: a runner process per boot and the pty.

Owns starting a boot's runner process (the command line comes from the
backend, backends.py: node runner.mjs, or the unix port's guest/unix/runner.py),
the newline-JSON pipe to it, and the pseudo-terminal that stands in for the
unit's USB serial port.  It keeps no clock policy: the Emulator
(emulator/__init__.py) decides when to wake the unit.  Message shapes are
documented in docs/emulator.md.
"""

from __future__ import annotations

import errno
import json
import os
import select
import subprocess
import tty
from pathlib import Path

EXIT_SOFT_RAW, EXIT_SOFT_FRIENDLY, EXIT_HARD = 10, 11, 12
EXIT_POWER_CUT = 99  # an armed power cut happened during a flash write
# Output kept while no client reads the port.  The unit writes only replies, so this is bounded by
# what a host asked for; it must hold every reply to a burst of pipelined requests (the fuzz test
# sends 60 at once, log pages of 2 KB among them): a smaller cap cut frames in the middle under load.
PORT_BUFFER_LIMIT = 1024 * 1024


class SerialPty:
    """A pseudo-terminal whose slave is the unit's port (`path`)."""

    def __init__(self):
        master, slave = os.openpty()
        tty.setraw(slave)  # no echo, no CR/LF translation, no signals on Ctrl-C
        os.set_blocking(master, False)
        # Our own slave handle stays open: without it, reading the master fails
        # with EIO whenever no client has the port open.
        self.master, self.slave = master, slave
        self.path = os.ttyname(slave)
        self.outgoing = bytearray()

    def read(self) -> bytes:
        try:
            return os.read(self.master, 4096)
        except BlockingIOError:
            return b""
        except OSError as exc:
            if exc.errno == errno.EIO:
                return b""
            raise

    def write(self, data: bytes):
        self.outgoing += data
        # Nobody reading: keep the newest output only (USB CDC drops it too).
        del self.outgoing[:-PORT_BUFFER_LIMIT]
        self.flush()

    def flush(self):
        if not self.outgoing:
            return
        try:
            written = os.write(self.master, self.outgoing)
            del self.outgoing[:written]
        except BlockingIOError:
            pass

    def discard_client_output(self):
        """Drop what a client wrote that nobody read (the unit was off)."""
        self.read()

    def close(self):
        for fd in (self.master, self.slave):
            try:
                os.close(fd)
            except OSError:
                pass


class SerialInbox:
    """Port input on its way to the unit.  With a `window`, at most that many
    bytes are in the guest at once (it reports what it took); the rest waits
    here, as a board's USB buffer lives outside its heap.  None: no limit."""

    def __init__(self, window: int | None):
        self.window = window
        self.queued = bytearray()
        self.in_guest = 0

    def push(self, data: bytes, front: bool = False):
        if front:
            self.queued[:0] = data
        else:
            self.queued += data

    def take(self) -> bytes:
        """The bytes that may go to the guest now."""
        room = len(self.queued) if self.window is None else max(0, self.window - self.in_guest)
        chunk = bytes(self.queued[:room])
        del self.queued[:room]
        if self.window is not None:
            self.in_guest += len(chunk)
        return chunk

    def taken(self, count: int):
        self.in_guest = max(0, self.in_guest - count)

    def new_boot(self, power_lost: bool):
        """A new runner holds nothing yet; a power cut loses the queue too."""
        self.in_guest = 0
        if power_lost:
            self.queued.clear()


class RunnerProcess:
    """The runner process of one boot, and its message pipe."""

    def __init__(self, argv: list[str], mode: str, log_path: Path, cwd: Path):
        self._log = open(log_path, "ab")
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self._log, bufsize=0, cwd=str(cwd))
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.stdin, self.stdout = self.proc.stdin, self.proc.stdout
        os.set_blocking(self.stdin.fileno(), False)
        self._incoming = b""
        self._outgoing = bytearray()
        self.mode = mode

    def fileno(self) -> int:
        return self.stdout.fileno()

    def send(self, message: dict):
        self._outgoing += (json.dumps(message) + "\n").encode()
        self.flush()

    def flush(self):
        if not self._outgoing:
            return
        try:
            written = os.write(self.stdin.fileno(), self._outgoing)
            del self._outgoing[:written]
        except BlockingIOError:
            pass
        except (BrokenPipeError, ValueError):
            self._outgoing.clear()

    def wants_to_write(self) -> bool:
        return bool(self._outgoing)

    def read_messages(self) -> list[dict] | None:
        """Messages now readable; None when the process closed its output."""
        data = os.read(self.fileno(), 1 << 16)
        if not data:
            return None
        self._incoming += data
        *lines, self._incoming = self._incoming.split(b"\n")
        return [message for line in lines if line for message in _decode(line)]

    def kill(self):
        """Power off: SIGKILL, as abrupt as pulling the battery."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.close()

    def exit_code(self, timeout: float = 10) -> int:
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()
        finally:
            self.close()

    def close(self):
        for stream in (self.stdin, self.stdout):
            try:
                stream.close()
            except OSError:
                pass
        self._log.close()


def _decode(line: bytes) -> list[dict]:
    """The messages in one line.  Text before a message is output the firmware
    wrote to the runner's stdout itself (print() on the unix port, where a
    board prints to its USB port): it becomes serial output, a line end
    cooked to CR LF as a board's print() does."""
    start = 0
    while start >= 0:
        try:
            message = json.loads(line[start:])
            if isinstance(message, dict) and "k" in message:
                break
        except ValueError:
            pass
        start = line.find(b"{", start + 1)
    text = line if start < 0 else line[:start]
    if not text:
        return [message]
    printed = {"k": "serial", "data": (text + (b"\r\n" if start < 0 else b"")).decode("latin1")}
    return [printed] if start < 0 else [printed, message]


def pump(runner: RunnerProcess | None, port: SerialPty, timeout: float):
    """Wait up to `timeout` s for traffic; return (messages or None if the
    runner exited, bytes from the port)."""
    readable = [port.master]
    writable = []
    if runner is not None:
        readable.append(runner.fileno())
        if runner.wants_to_write():
            writable.append(runner.stdin.fileno())
    if port.outgoing:
        writable.append(port.master)
    ready, can_write, _ = select.select(readable, writable, [], timeout)
    messages: list[dict] | None = []
    if runner is not None and runner.fileno() in ready:
        messages = runner.read_messages()
    from_port = port.read() if port.master in ready else b""
    if port.master in can_write:
        port.flush()
    if runner is not None and writable and runner.stdin.fileno() in can_write:
        runner.flush()
    return messages, from_port
