"""One emulated unit's processes and wires: the node runner and the pty.

Owns starting the runner (`runner.mjs`, one node process per boot), the
newline-JSON pipe to it, restarting it after a soft or hard reset, and the
pseudo-terminal that stands in for the unit's USB serial port.  It keeps no
clock policy: the Emulator (emulator/__init__.py) decides when to wake the
unit.  Message shapes are documented in docs/emulator.md.
"""

from __future__ import annotations

import errno
import json
import os
import select
import subprocess
import tty
from pathlib import Path

from pumpsync.micropython import node_executable

RUNNER = Path(__file__).with_name("runner.mjs")
EXIT_SOFT_RAW, EXIT_SOFT_FRIENDLY, EXIT_HARD = 10, 11, 12
EXIT_POWER_CUT = 99  # an armed power cut happened during a flash write
PORT_BUFFER_LIMIT = 64 * 1024  # output kept while no client reads the port


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


class RunnerProcess:
    """The node process of one boot, and its message pipe."""

    def __init__(self, flash_dir: Path, mode: str, now_ms: int, rtc_offset_ms: int | None,
                 battery_mv: int, log_path: Path, measure_heap: bool = True, cause: str = "power_on",
                 cut_at_write: int = 0):
        args = [node_executable(), str(RUNNER), "--flash", str(flash_dir), "--mode", mode,
                "--cause", cause, "--cut-at-write", str(cut_at_write),
                "--now", str(now_ms), "--rtc", "" if rtc_offset_ms is None else str(rtc_offset_ms),
                "--battery", str(battery_mv), "--measure-heap", "1" if measure_heap else "0"]
        self._log = open(log_path, "ab")
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self._log, bufsize=0, cwd=str(RUNNER.parent))
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
        return [json.loads(line) for line in lines if line]

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
