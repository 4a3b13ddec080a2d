"""The "rp2" emulator backend: a fresh Raspberry Pi Pico on emulated silicon.

Owns the emulated Pico (npm rp2040js 1.4.1 running the official MicroPython
v1.27.0 firmware.uf2, rp2/runner.mjs) and its control API.  Unlike the wasm
and unix backends it runs no PumpWatch-specific HAL: the chip runs
MicroPython's own rp2 port, PumpWatch gets onto it only through
`pumpsync deploy --board rp2` (mpremote) like onto a board, and the
firmware's real hal/rp2.py drives the pins.  The board around the chip is
here: the button on GP14 (to GND, the chip's pull-up), the buzzer's PWM on
GP15 and the LED on GP25 read back as edges in emulated time, the battery
on ADC3/GP29 (VSYS/3), VBUS on GP24, power, reset.

    with Rp2Emulator(state_dir, firmware=UF2) as emu:
        emu.port, emu.control_socket, emu.now(), emu.advance(s), emu.press(ms),
        emu.set_battery(mv), emu.set_usb(present), emu.led(), emu.pwm(15, t0, t1),
        emu.tones(), emu.buzzer_log(), emu.led_log(), emu.edges(pins),
        emu.reset(), emu.power_cut(), emu.boot(), emu.stats(), emu.events()

Times are emulated seconds (or ms) since the state_dir's first power-on; the
chip's own RTC starts unset, as on a bare RP2040.  The official UF2 and the
RP2040 bootrom are third-party files found by path (`find_firmware`).
"""

from __future__ import annotations

import json
import os
import select
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from pumpsync.emulator.board import SerialPty
from pumpsync.emulator.errors import EmulatorError
from pumpsync.emulator.statedir import StateDir
from pumpsync.micropython import REPO_ROOT

RUNNER = Path(__file__).with_name("rp2") / "runner.mjs"
SHARED_RP2 = REPO_ROOT.parent / "shared" / "rp2"
UF2_ENV, BOOTROM_ENV = "PUMPWATCH_RP2_UF2", "PUMPWATCH_RP2_BOOTROM"
BUTTON_PIN, BUZZER_PIN, VIBRATION_PIN, VBUS_PIN, LED_PIN = 14, 15, 16, 24, 25
WHERE_TO_GET_UF2 = (
    "the official MicroPython v1.27.0 firmware for the Raspberry Pi Pico (RPI_PICO) "
    "from https://micropython.org/download/RPI_PICO/ (the .uf2 a technician copies onto the Pico's "
    f"BOOTSEL drive), or build it from the MicroPython v1.27.0 sources (ports/rp2, BOARD=RPI_PICO); "
    f"put it at {SHARED_RP2 / 'firmware.uf2'} or name it with --firmware or ${UF2_ENV}")
WHERE_TO_GET_BOOTROM = (
    "the RP2040 B1 bootrom as an ES module exporting `bootromB1` (wokwi/rp2040js demo/bootrom.ts, "
    f"built from raspberrypi/pico-bootrom); put it at {SHARED_RP2 / 'bootrom.mjs'} or name it with ${BOOTROM_ENV}")
_CONNECT_S = 10.0
_CALL_S = 60.0
SERIAL_KEPT = 64 * 1024
TONE_TOLERANCE = 0.01  # consecutive periods within 1 % are one tone


def find_firmware(firmware: str | os.PathLike | None = None) -> Path:
    """The official UF2: `firmware`, else $PUMPWATCH_RP2_UF2, else <repo>/../shared/rp2/firmware.uf2."""
    for candidate, what in ((firmware, "--firmware"), (os.environ.get(UF2_ENV), f"${UF2_ENV}")):
        if candidate:
            path = Path(candidate).expanduser()
            if not path.is_file():
                raise EmulatorError(f"{what} {path} is not a file; the rp2 backend needs {WHERE_TO_GET_UF2}")
            return path.resolve()
    path = SHARED_RP2 / "firmware.uf2"
    if not path.is_file():
        raise EmulatorError(f"no MicroPython firmware for the emulated Pico: the rp2 backend needs {WHERE_TO_GET_UF2}")
    return path


def find_bootrom(bootrom: str | os.PathLike | None = None) -> Path:
    candidate = bootrom or os.environ.get(BOOTROM_ENV)
    path = Path(candidate).expanduser() if candidate else SHARED_RP2 / "bootrom.mjs"
    if not path.is_file():
        raise EmulatorError(f"no RP2040 bootrom at {path}: the rp2 backend needs {WHERE_TO_GET_BOOTROM}")
    return path.resolve()


def _node() -> str:
    import shutil
    node = shutil.which("node")
    if node is None:
        raise EmulatorError("node is not on PATH; install Node.js 20 or later")
    if not (REPO_ROOT / "node_modules" / "rp2040js").is_dir():
        raise EmulatorError("node_modules/rp2040js is missing: run `make setup` (npm ci)")
    return node


class _Control:
    """The runner's control socket: one JSON request, one JSON reply."""

    def __init__(self, path: Path, process: subprocess.Popen):
        deadline = time.monotonic() + _CONNECT_S
        while True:
            try:
                self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.sock.connect(str(path))
                break
            except OSError:
                self.sock.close()
                if process.poll() is not None or time.monotonic() > deadline:
                    raise EmulatorError(f"the emulated Pico's runner did not open its control socket {path}") from None
                time.sleep(0.02)
        self.file = self.sock.makefile("rb")
        self.lock = threading.Lock()

    def call(self, timeout: float = _CALL_S, **request) -> dict:
        with self.lock:
            self.sock.settimeout(timeout)
            try:
                self.sock.sendall(json.dumps(request).encode() + b"\n")
                line = self.file.readline()
            except (OSError, socket.timeout) as exc:
                raise EmulatorError(f"the emulated Pico did not answer {request['cmd']!r}: {exc}") from None
        if not line:
            raise EmulatorError(f"the emulated Pico stopped (during {request['cmd']!r})")
        reply = json.loads(line)
        if "error" in reply:
            raise EmulatorError(f"the emulated Pico refused {request['cmd']!r}: {reply['error']}")
        return reply

    def close(self):
        try:
            self.file.close()
            self.sock.close()
        except OSError:
            pass


class Rp2Emulator:
    def __init__(self, state_dir, firmware=None, speed: float = 1.0, battery_mv: int = 3900, usb: bool = True,
                 bootrom=None, start_time=None, **_ignored):
        """state_dir: the Pico's flash (flash.bin) and log; a new one is a Pico fresh from the
        UF2 (MicroPython only, no PumpWatch).  firmware: the official UF2 (see find_firmware).
        speed: emulated seconds per wall second while idle (0 freezes; float('inf') runs
        free).  start_time is accepted for the other backends' sake: a bare RP2040's clock
        starts unset, pumpsync sets it."""
        if speed < 0:
            raise EmulatorError("speed must be 0 or more")
        self.state_dir = Path(state_dir).resolve()
        self.firmware = find_firmware(firmware)
        self.bootrom = find_bootrom(bootrom)
        self.speed = speed
        self.battery_mv = battery_mv
        self.usb = usb
        self._dir = StateDir(self.state_dir)
        self._flash = self.state_dir / "flash.bin"
        self._clock_file = self.state_dir / "emulated_time.json"
        self._process: subprocess.Popen | None = None
        self._control: _Control | None = None
        self._port: SerialPty | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._serial = bytearray()
        self._serial_lock = threading.Lock()
        self._edges: list = []  # [µs, pin, level] fetched so far
        self._edge_cursor = 0
        self._origin_us = 0.0
        self._sock_dir: str | None = None
        self._boots = 0

    # ---------------------------------------------------------------- lifecycle
    def __enter__(self) -> "Rp2Emulator":
        self.start()
        return self

    def __exit__(self, *exc):
        self.close()

    def start(self):
        self._dir.claim()
        try:
            _node()
            self._port = SerialPty()
            self.boot()
            self._thread = threading.Thread(target=self._relay, name="pumpwatch-rp2-serial", daemon=True)
            self._thread.start()
        except BaseException:
            self.close()
            raise

    def close(self):
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self._power_off(graceful=True)
        if self._port is not None:
            self._port.close()
            self._port = None
        if self._sock_dir is not None:
            import shutil
            shutil.rmtree(self._sock_dir, ignore_errors=True)
            self._sock_dir = None
        self._dir.release()

    def boot(self):
        """Power on (at start, or after power_cut()).  No-op when powered."""
        if self._process is not None:
            return
        first_flash = not self._flash.exists()
        self._origin_us = self._load_clock()
        write_uf2 = first_flash or self._firmware_changed()
        self._sock_dir = self._sock_dir or tempfile.mkdtemp(prefix="pw-rp2-")
        ctl = Path(self._sock_dir) / "ctl.sock"
        command = [_node(), str(RUNNER), "--bootrom", str(self.bootrom), "--firmware", str(self.firmware),
                   "--flash", str(self._flash), "--ctl", str(ctl), "--write-uf2", "1" if write_uf2 else "0",
                   "--speed", "inf" if self.speed == float("inf") else repr(float(self.speed)),
                   "--origin-us", repr(self._origin_us), "--battery-mv", str(self.battery_mv),
                   "--vbus", "1" if self.usb else "0"]
        log = open(self._dir.runner_log, "ab")
        env = dict(os.environ, TZ="UTC")
        self._process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log,
                                         cwd=REPO_ROOT, env=env, bufsize=0)
        log.close()
        assert self._process.stdout is not None and self._process.stdin is not None  # both are pipes
        os.set_blocking(self._process.stdout.fileno(), False)
        self._control = _Control(ctl, self._process)
        if write_uf2:
            (self.state_dir / "firmware.sha256").write_text(self._firmware_digest())
        self._boots += 1

    def power_cut(self):
        """Power lost now: RAM, RTC and watchdog state gone; the flash as of its last write."""
        self._require_power("cut the power")
        self._save_clock(self.now_us())
        self._power_off(graceful=False)

    def reset(self):
        """The RUN pin pulled low: a chip reset, the flash kept."""
        self._call("reset")

    # ---------------------------------------------------------------- the API
    @property
    def port(self) -> str:
        if self._port is None:
            raise EmulatorError("the emulator is not started (use it in a with block)")
        return self._port.path

    @property
    def control_socket(self) -> str:
        self._require_power("reach the control socket")
        assert self._sock_dir is not None  # made when the power came on
        return str(Path(self._sock_dir) / "ctl.sock")

    @property
    def powered(self) -> bool:
        return self._process is not None

    def now_us(self) -> float:
        return self._call("now")["t_us"]

    def now(self) -> float:
        """Emulated seconds since this state_dir's first power-on."""
        return self.now_us() / 1e6

    def advance(self, seconds: float, wall_timeout_s: float | None = None):
        """Run `seconds` of emulated time, fast-forwarding while the core waits (WFI).  A core that
        never waits (a flood on the port) runs slower than real time: give it `wall_timeout_s`."""
        if seconds < 0:
            raise EmulatorError(f"advance() needs 0 or more seconds, not {seconds}")
        self._call("advance", ms=seconds * 1000, timeout=wall_timeout_s or max(_CALL_S, seconds * 2))

    def set_speed(self, speed: float):
        self.speed = speed
        self._call("speed", speed="inf" if speed == float("inf") else speed)

    def button(self, down: bool):
        """The button on GP14 (to GND): pressed drives the pin low; released leaves it to the pull-up."""
        if down:
            self._call("drive", pin=BUTTON_PIN, level=0)
        else:
            self._call("release", pin=BUTTON_PIN)

    def press(self, ms: int = 150):
        """Press the button for `ms` of emulated time."""
        if ms <= 0:
            raise EmulatorError(f"a press lasts more than 0 ms, not {ms}")
        self.button(True)
        self.advance(ms / 1000)
        self.button(False)

    def set_battery(self, millivolts: int):
        """The battery's voltage on VSYS, read through the Pico's divider on ADC3 (GP29)."""
        self.battery_mv = millivolts
        if self._process is not None:
            self._call("battery", mv=millivolts)

    def set_usb(self, present: bool):
        """VBUS on GP24 (the CDC link itself stays up)."""
        self.usb = present
        if self._process is not None:
            self._call("drive", pin=VBUS_PIN, level=1 if present else 0)

    def pin(self, index: int) -> dict:
        return self._call("pin", pin=index)

    def led(self) -> int:
        return self.pin(LED_PIN)["output"]

    def edges(self, pins=None) -> list[tuple[float, int, int]]:
        """Every recorded change [(emulated µs, pin, level 0|1|2 not driven)] of GP14/15/16/24/25."""
        self._fetch_edges()
        wanted = None if pins is None else set(pins)
        return [tuple(e) for e in self._edges if wanted is None or e[1] in wanted]

    def pwm(self, pin: int = BUZZER_PIN, from_s: float = 0, to_s: float = float("inf")) -> dict:
        """Frequency (Hz) and duty (0..1) of a pin's output between two emulated times."""
        levels = [(t, v) for t, p, v in self.edges([pin]) if from_s * 1e6 <= t <= to_s * 1e6]
        rises = [t for (t, v), (_, before) in zip(levels[1:], levels) if v == 1 and before == 0]
        falls = [t for (t, v), (_, before) in zip(levels[1:], levels) if v == 0 and before == 1]
        if len(rises) < 2:
            return {"freq_hz": 0.0, "duty": None, "periods": 0}
        period = (rises[-1] - rises[0]) / (len(rises) - 1)
        highs = [next((f for f in falls if f > r), None) for r in rises[:-1]]
        duty = [(f - r) / period for r, f in zip(rises, highs) if f is not None]
        return {"freq_hz": 1e6 / period, "duty": sum(duty) / len(duty) if duty else None, "periods": len(rises) - 1}

    def tones(self, pin: int = BUZZER_PIN) -> list[dict]:
        """The pin's output as tones: [{start_ms, end_ms, freq_hz, duty}], a new one whenever the
        period changes by more than 1 % or the output stops for more than two periods."""
        levels = [(t, v) for t, p, v in self.edges([pin])]
        rises = [(t, i) for i, ((t, v), (_, before)) in enumerate(zip(levels[1:], levels), 1)
                 if v == 1 and before == 0]
        tones: list[dict] = []
        current = None
        for (t0, i0), (t1, i1) in zip(rises, rises[1:]):
            period = t1 - t0
            fall = next((levels[j][0] for j in range(i0 + 1, i1) if levels[j][1] == 0), None)
            duty = None if fall is None else (fall - t0) / period
            if current is not None and abs(period - current["period"]) <= TONE_TOLERANCE * current["period"] \
                    and t0 <= current["last"] + 1e-6:
                current["last"] = t1
                current["periods"].append(period)
                if duty is not None:
                    current["duties"].append(duty)
            else:
                current = {"start": t0, "last": t1, "period": period, "periods": [period],
                           "duties": [] if duty is None else [duty], "last_index": i1}
                tones.append(current)
                continue
            current["last_index"] = i1
        result = []
        for tone in tones:
            if len(tone["periods"]) < 2:
                continue  # one rising edge to the next across a silence: not a tone
            mean = sum(tone["periods"]) / len(tone["periods"])
            duty = sum(tone["duties"]) / len(tone["duties"]) if tone["duties"] else None
            result.append({"start_ms": tone["start"] / 1000, "end_ms": self._tone_end(levels, tone, mean, duty) / 1000,
                           "freq_hz": 1e6 / mean, "periods": len(tone["periods"]), "duty": duty})
        return result

    @staticmethod
    def _tone_end(levels, tone, period, duty):
        """When the tone stopped (us).  The board HAL stops the slice at once (hal/rp2.py): cut
        while the pin was high, the pin falls then, early; cut while it was low, the pin shows
        only that the stop came between its last fall and the rise that did not come: the middle,
        within (1 - duty) / 2 of a period (1.5 ms at C4 and 25 %)."""
        last_rise = tone["last"]
        fall = next((t for t, v in levels[tone["last_index"] + 1:] if v == 0), None)
        if fall is None or duty is None:
            return last_rise + period
        if fall - last_rise < 0.9 * duty * period:
            return fall
        return (fall + last_rise + period) / 2

    def buzzer_log(self) -> list[tuple[int, int]]:
        """[(emulated ms, Hz)] at every change, 0 Hz = silent (the other backends' shape)."""
        log: list[tuple[int, int]] = []
        for tone in self.tones(BUZZER_PIN):
            start, freq = round(tone["start_ms"]), round(tone["freq_hz"])
            if log and log[-1] == (start, 0):
                log.pop()
            log += [(start, freq), (round(tone["end_ms"]), 0)]
        return log

    def buzzer_loud_log(self) -> list[tuple[int, int, int]]:
        """buzzer_log() with the loud flag: 1 for a tone at the board's loud duty (50 %, machine_hal)."""
        log: list[tuple[int, int, int]] = []
        for tone in self.tones(BUZZER_PIN):
            start, freq = round(tone["start_ms"]), round(tone["freq_hz"])
            loud = 1 if (tone.get("duty") or 0) > 0.4 else 0
            if log and log[-1] == (start, 0, 0):
                log.pop()
            log += [(start, freq, loud), (round(tone["end_ms"]), 0, 0)]
        return log

    vibration = False  # the Pico board file fits no motor

    def vibration_log(self) -> list[tuple[int, int]]:
        return []

    def led_log(self) -> list[tuple[int, int]]:
        return [(round(t / 1000), 1 if v == 1 else 0) for t, _, v in self.edges([LED_PIN])]

    def serial_output(self) -> bytes:
        with self._serial_lock:
            return bytes(self._serial)

    def events(self) -> list[dict]:
        return self._call("events")["events"]

    def stats(self) -> dict:
        result = dict(self._call("stats"), backend="rp2", boots=self._boots, powered=True)
        return result

    def warnings(self) -> dict:
        """rp2040js's messages about peripherals it does not implement, with counts."""
        return self._call("warnings")

    # ---------------------------------------------------------------- inside
    def _require_power(self, what: str):
        if self._port is None:
            raise EmulatorError("the emulator is not started (use it in a with block)")
        if self._process is None:
            raise EmulatorError(f"cannot {what}: the Pico is powered off (call boot() first)")

    def _call(self, cmd: str, timeout: float = _CALL_S, **request) -> dict:
        self._require_power(f"send {cmd!r}")
        assert self._control is not None
        try:
            return self._control.call(timeout=timeout, cmd=cmd, **request)
        except EmulatorError:
            if self._process is not None and self._process.poll() is not None:
                raise EmulatorError(f"the emulated Pico's runner stopped (exit code {self._process.returncode}); "
                                    f"see {self._dir.runner_log}") from None
            raise

    def _fetch_edges(self):
        while self._process is not None:
            reply = self._call("edges", since=self._edge_cursor, max=200000)
            self._edges.extend(reply["edges"])
            if reply["next"] == self._edge_cursor:
                break
            self._edge_cursor = reply["next"]

    def _power_off(self, graceful: bool):
        if self._process is None:
            return
        if graceful:
            try:
                self._fetch_edges()
                self._save_clock(self.now_us())
            except EmulatorError:
                pass
        else:
            try:
                self._fetch_edges()  # what the logic analyser saw up to the cut
            except EmulatorError:
                pass
        if self._control is not None:
            self._control.close()
            self._control = None
        process, self._process = self._process, None
        process.kill()
        process.wait()
        for pipe in (process.stdin, process.stdout):
            try:
                if pipe is not None:
                    pipe.close()
            except OSError:
                pass
        self._edge_cursor = 0  # the next runner's ring starts empty

    def _load_clock(self) -> float:
        try:
            return float(json.loads(self._clock_file.read_text())["emulated_us"])
        except (OSError, ValueError, KeyError):
            return 0.0

    def _save_clock(self, us: float):
        tmp = self._clock_file.with_suffix(".tmp")
        tmp.write_text(json.dumps({"emulated_us": us}))
        os.replace(tmp, self._clock_file)

    def _firmware_digest(self) -> str:
        import hashlib
        return hashlib.sha256(self.firmware.read_bytes()).hexdigest()

    def _firmware_changed(self) -> bool:
        try:
            return (self.state_dir / "firmware.sha256").read_text().strip() != self._firmware_digest()
        except OSError:
            return True

    def _relay(self):
        """Copy bytes between the pty and the runner's USB CDC stream."""
        while not self._stop.is_set():
            process, port = self._process, self._port
            if port is None:
                return
            if process is not None:
                assert process.stdout is not None and process.stdin is not None  # pipes (_start)
            fds = [port.master] + ([process.stdout.fileno()] if process is not None and process.stdout else [])
            try:
                readable, _, _ = select.select(fds, [], [], 0.05)
            except (OSError, ValueError):
                continue
            if process is None:
                port.discard_client_output()  # the Pico is off: nobody takes the bytes
                continue
            try:
                assert process.stdout is not None and process.stdin is not None
                if process.stdout.fileno() in readable:
                    data = os.read(process.stdout.fileno(), 65536)
                    if data:
                        with self._serial_lock:
                            self._serial += data
                            del self._serial[:-SERIAL_KEPT]
                        port.write(data)
                port.flush()
                if port.master in readable:
                    data = port.read()
                    if data:
                        process.stdin.write(data)
            except (OSError, ValueError):
                time.sleep(0.01)  # the runner went away under us (power cut)

