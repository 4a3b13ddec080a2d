"""Running code under the real MicroPython interpreter (WebAssembly port, npm).

Owns locating Node and the interpreter package and running one snippet in a
fresh interpreter with a directory of device files on its path.  Used by the
tests and benchmarks that prove the core runs unchanged on MicroPython.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
FIRMWARE_DIR = REPO_ROOT / "firmware"
_SCRIPT = Path(__file__).with_name("js") / "mpexec.mjs"
INTERPRETER_PACKAGE = REPO_ROOT / "node_modules" / "@micropython" / "micropython-webassembly-pyscript"


class MicroPythonUnavailable(RuntimeError):
    """Node or the npm interpreter package is missing: run `make setup`."""


def node_executable() -> str:
    node = shutil.which("node")
    if node is None:
        raise MicroPythonUnavailable("node is not on PATH; install Node.js 20 or later")
    if not INTERPRETER_PACKAGE.is_dir():
        raise MicroPythonUnavailable(f"{INTERPRETER_PACKAGE} is missing; run `make setup` (npm ci)")
    return node


def run(code: str, root: Path = FIRMWARE_DIR, timeout: float = 60) -> str:
    """Run `code` in a fresh MicroPython with `root` at /flash; return its stdout."""
    result = subprocess.run([node_executable(), str(_SCRIPT), str(root)], input=code,
                            capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        raise RuntimeError(f"MicroPython failed:\n{result.stderr.strip()}")
    return result.stdout
