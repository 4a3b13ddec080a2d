"""Deploying PumpWatch firmware onto a unit with mpremote.

Owns the clinic technician's install/update: put a running unit into
maintenance (authenticated), build the firmware as .mpy plus the board's
/board.json, copy only what changed against the unit's /manifest.json (one
mpremote session), remove files of the old version (a stale .py would shadow
its new .mpy), write the new manifest, reset, and check with `hello` that the
unit runs the new version.  The unit's data/ (settings, keys, event log) is
never touched.  mpremote is the official tool for the file work; this module
only decides what to copy.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import serial

from pumpsync import firmware_build
from pumpsync.client import MAINTENANCE, MAINTENANCE_PROMPT, UnitClient, UnitError
from pumpsync.micropython import FIRMWARE_DIR, REPO_ROOT

BOARDS_DIR = REPO_ROOT / "boards"
BOARDS = {"esp32": "esp32-devkitc", "rp2": "pico", "pico-w": "pico-w"}
MANIFEST = "manifest.json"
RAW_REPL_TRIES = 4
PROMPT_WAIT_S = 30.0  # a unit leaving its loop for maintenance shows MicroPython's prompt within this


class DeployError(Exception):
    pass


def board_config(board: str) -> Path:
    name = BOARDS.get(board, board)
    path = BOARDS_DIR / f"{name}.json"
    if not path.exists():
        raise DeployError(f"no board called {board!r}: choose one of {', '.join(sorted(BOARDS))}")
    return path


def build(stage: Path, board: str, source: Path = FIRMWARE_DIR) -> dict:
    """Compile the firmware into `stage`; return the manifest {path: sha256, ...}."""
    firmware_build.install(stage, source, compiled=True)
    (stage / "board.json").write_bytes(board_config(board).read_bytes())
    files = {}
    for path in sorted(p for p in stage.rglob("*") if p.is_file()):
        files[path.relative_to(stage).as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
    version = _version_of(source)
    return {"version": version, "board": board, "files": files}


def _version_of(source: Path) -> str:
    for line in (source / "pumpwatch" / "__init__.py").read_text().splitlines():
        if line.startswith("VERSION"):
            return line.split("=", 1)[1].strip().strip('"\'')
    raise DeployError("firmware/pumpwatch/__init__.py has no VERSION")


def mpremote(port: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run mpremote, retrying the raw-REPL entry that fails on a busy or resetting board.  Always with
    `resume`: mpremote's automatic soft reset would stop the timer that feeds a unit's watchdog in
    maintenance (the RP2040's watchdog cannot be stopped), and the chip would reset under the copy."""
    last = None
    if args and args[0] not in ("reset", "resume"):
        args = ("resume", *args)
    for attempt in range(RAW_REPL_TRIES):
        try:
            result = subprocess.run([sys.executable, "-m", "mpremote", "connect", port, *args],
                                    capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            # on a pty mpremote waits for the REPL without a time limit
            raise DeployError(f"mpremote {' '.join(args[:2])} got no answer from the unit in {timeout:.0f} s: "
                              "the copy may be incomplete; reset the board and deploy again") from None
        if result.returncode == 0:
            return result
        last = result
        if "could not enter raw repl" not in (result.stderr + result.stdout).lower():
            break
        time.sleep(0.5 * (attempt + 1))
    assert last is not None
    text = (last.stderr or last.stdout).strip().splitlines()
    detail = text[-1] if text else f"exit code {last.returncode}"
    if "could not enter raw repl" in detail.lower():
        raise DeployError("mpremote could not reach the REPL: the unit is monitoring. Run `pumpsync maintenance` "
                          "first (or reset the board and retry)")
    raise DeployError(f"mpremote {' '.join(args[:2])} failed: {detail}")


def wait_for_prompt(port: str, timeout: float = PROMPT_WAIT_S) -> None:
    """Wait until MicroPython's prompt answers a Ctrl-C on the port.  A unit told to enter
    maintenance leaves its loop a moment later (seconds on a slow board): mpremote's Ctrl-C and
    Ctrl-A sent before that are read by the loop as frame bytes, and mpremote then waits for the
    raw REPL forever (found on the emulated Pico: the update hung)."""
    deadline = time.monotonic() + timeout
    try:
        with serial.Serial(port, 115200, timeout=0.3, exclusive=True) as link:
            while time.monotonic() < deadline:
                link.write(b"\r\x03")
                seen = b""
                answer_by = time.monotonic() + 1.0
                while time.monotonic() < answer_by:
                    seen += link.read(256)
                    if MAINTENANCE_PROMPT in seen:
                        return
    except (serial.SerialException, OSError) as exc:
        raise DeployError(f"cannot open {port} to reach the unit's prompt ({exc}): nothing was copied") from None
    raise DeployError(f"the unit did not show MicroPython's prompt within {timeout:.0f} s of entering maintenance: "
                      "nothing was copied; reset the board and deploy again")


def _unit_manifest(port: str) -> tuple[dict, str]:
    """The manifest of the files a deploy left on the unit ({} for none), and the chip MicroPython names
    (sys.implementation._machine, as os.uname().machine gives it where a port has os.uname)."""
    code = ("import json, sys\ntry:\n m = json.load(open('%s'))\nexcept OSError:\n m = {}\n"
            "print(json.dumps({'manifest': m, 'machine': getattr(sys.implementation, '_machine', '')}))" % MANIFEST)
    out = mpremote(port, "exec", code, timeout=60).stdout.strip().splitlines()
    try:
        found = json.loads(out[-1]) if out else {}
    except ValueError:
        found = {}
    if not isinstance(found, dict):
        found = {}
    manifest = found.get("manifest")
    return (manifest if isinstance(manifest, dict) else {}), str(found.get("machine", ""))


# The chip a board's build is for, as os.uname().machine names it; and the chips it must not be.
_CHIPS = {"rp2": (("RP2040",), ("Pico W", "ESP32")), "pico-w": (("Pico W",), ("ESP32",)),
          "esp32": (("ESP32",), ("RP2040", "RP2350"))}
_KNOWN_CHIPS = ("RP2040", "RP2350", "ESP32")


def check_machine(board: str, machine: str) -> None:
    """A first install onto plain MicroPython: the chip it names must be the board's (another
    board's pins would leave its buzzer silent).  An emulated unit names no chip: not checked."""
    if not any(chip in machine for chip in _KNOWN_CHIPS) or board not in _CHIPS:
        return
    needed, refused = _CHIPS[board]
    if all(n in machine for n in needed) and not any(r in machine for r in refused):
        return
    fits = [name for name, (need, refuse) in _CHIPS.items()
            if all(n in machine for n in need) and not any(r in machine for r in refuse)]
    hint = f"--board {fits[0]}" if fits else "the --board that matches it"
    raise DeployError(f"the unit is a {machine!r}, not a board for --board {board}: another board's pins would "
                      f"leave its buzzer silent; nothing was changed; use {hint}")


EMULATED_BOARD = "emulator"  # the emulated unit takes any board's build (its HAL ignores the pins)


def check_board(board: str, reported) -> None:
    """The board the unit reports must be the one the build is for: another board's pins
    would leave its buzzer, button or LED dead."""
    expected = json.loads(board_config(board).read_text())["name"]
    if reported in (expected, EMULATED_BOARD):
        return
    names = {v: k for k, v in BOARDS.items()}
    hint = f"--board {names[reported]}" if reported in names else "the --board that matches it"
    raise DeployError(f"the unit reports board {reported!r}, not {expected!r} (--board {board}): another board's "
                      f"pins would leave its buzzer silent; nothing was changed; use {hint}")


def maintenance_if_running(port: str, key_for, board: str | None = None) -> str | None:
    """If PumpWatch runs on the port, check its board and put it in maintenance; its unit id
    (None: no PumpWatch)."""
    try:
        with UnitClient(port, timeout=2, command="deploy") as client:
            hello = client.call("hello")
            if board is not None:
                check_board(board, hello.get("board"))
            client.key = key_for(hello["unit_id"])
            if client.key is None:
                raise DeployError(f"unit {hello['unit_id']} runs PumpWatch but is not paired with this computer: "
                                  "run pumpsync pair first")
            client.write("maintenance", {"minutes": 10})
            time.sleep(0.3)
            return hello["unit_id"]
    except UnitError as exc:
        if exc.code in ("timeout", MAINTENANCE):
            # stock MicroPython (first install: its REPL echoes the frame) or a unit already in maintenance
            return None
        raise DeployError(str(exc)) from None


def deploy(port: str, board: str, key_for, source: Path = FIRMWARE_DIR, log=print, name_for=None) -> dict:
    """Install or update the firmware on the unit at `port`; a summary."""
    with tempfile.TemporaryDirectory() as tmp:
        stage = Path(tmp)
        manifest = build(stage, board, source)
        log(f"built firmware {manifest['version']} for {board}: {len(manifest['files'])} files (.mpy)")
        unit_id = maintenance_if_running(port, key_for, board)
        log("unit in maintenance" if unit_id else "no PumpWatch answering: installing onto MicroPython")
        wait_for_prompt(port)
        found, machine = _unit_manifest(port)
        check_machine(board, machine)
        old = found.get("files", {})
        changed = [name for name, digest in manifest["files"].items() if old.get(name) != digest]
        stale = [name for name in old if name not in manifest["files"]]
        # MicroPython imports x.py before x.mpy: a source left by any earlier install must go
        shadows = [name[:-4] + ".py" for name in manifest["files"] if name.endswith(".mpy")]
        dirs = sorted({str(Path(name).parent) for name in changed if "/" in name})
        setup = "import os\nfor d in %r:\n try: os.mkdir(d)\n except OSError: pass\nfor f in %r:\n" \
                " try: os.remove(f)\n except OSError: pass" % (dirs, stale + shadows)
        commands: list[str] = ["exec", setup]
        for name in changed:
            commands += ["+", "fs", "cp", str(stage / name), f":{name}"]
        (stage / MANIFEST).write_text(json.dumps(manifest, indent=1))
        commands += ["+", "fs", "cp", str(stage / MANIFEST), f":{MANIFEST}"]
        log(f"copying {len(changed)} changed file(s), removing {len(stale)} old one(s)...")
        mpremote(port, *commands)
        mpremote(port, "reset")
    version = _wait_for_version(port, manifest["version"])
    log(f"unit runs PumpWatch {version}: deploy verified")
    if unit_id is not None:
        _restore_clock(port, unit_id, key_for, name_for, log)
    return {"version": version, "copied": len(changed), "removed": len(stale), "unit_id": unit_id}


def _restore_clock(port: str, unit_id: str, key_for, name_for, log):
    """A board without a battery-backed clock (a Pico) loses the time at the reset that ends a deploy
    and would sound "clock lost" until the next sync: a paired unit gets this computer's time back."""
    key = key_for(unit_id)
    try:
        with UnitClient(port, key=key, key_name=name_for(unit_id) if name_for else None, timeout=5,
                        command="deploy") as client:
            if client.call("hello").get("time") is None and key is not None:
                client.write("time_set", {"epoch": int(time.time()), "jump_ok": False})
                log("the unit had lost its clock in the reset: set to this computer's")
    except UnitError as exc:
        log(f"the unit's clock could not be checked after the deploy ({exc}): run pumpsync status")


def _wait_for_version(port: str, expected: str, timeout: float = 30) -> str:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        time.sleep(0.5)
        try:
            with UnitClient(port, timeout=2) as client:
                last = client.call("hello")["firmware"]
                if last == expected:
                    return last
        except UnitError:
            continue
    raise DeployError(f"after the reset the unit reports firmware {last or 'nothing'}, not {expected}: "
                      "check the serial output (mpremote repl) and deploy again")
