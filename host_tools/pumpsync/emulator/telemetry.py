"""What an emulated unit reported, kept for the tests and benchmarks.

Owns the logs (buzzer with and without its loud flag, LED, vibration
motor, serial output, other hardware events) and the
counters of `Emulator.stats()`: wake-ups, flash writes, heap figures, boots,
crashes and the last error.  It only records; the Emulator decides what a
message means for the unit's state (sleeping, REPL, resets, watchdog).
"""

from __future__ import annotations

PORT_LOG_LIMIT = 64 * 1024  # what serial_output() keeps of the unit's output
FILE_OPS = ("write", "rename", "remove", "mkdir", "rmdir")  # wasm: a file-level flash write
BLOCK_OPS = ("prog", "erase")  # unix: a littlefs block program or erase


class Telemetry:
    def __init__(self):
        self.buzzer: list[tuple[int, int]] = []
        self.buzzer_loud: list[tuple[int, int, int]] = []  # (ms, Hz, loud 0|1)
        self.vibration: list[tuple[int, int]] = []
        self.led: list[tuple[int, int]] = []
        self.events: list[dict] = []
        self.serial = bytearray()
        self.error: str | None = None
        self.stats = {"wakeups": 0, "flash_writes": 0, "flash_bytes_written": 0, "flash_block_ops": 0,
                      "heap_peak": 0, "firmware_heap_peak": 0, "runner_heap": 0, "boots": 0,
                      "watchdog_resets": 0, "crashes": 0, "serial_bytes_from_host": 0,
                      "serial_bytes_to_host": 0}

    def note(self, message: dict, now: int) -> bytes | None:
        """Record a message that changes nothing but the record; the bytes
        of a serial message (for the port).  Other messages are events."""
        kind = message.get("k")
        if kind == "serial":
            data = bytes.fromhex(message["hex"]) if "hex" in message else message["data"].encode("latin1")
            self.serial += data
            del self.serial[:-PORT_LOG_LIMIT]
            self.stats["serial_bytes_to_host"] += len(data)
            return data
        if kind == "buzzer":
            self.buzzer.append((now, message["freq"]))
            self.buzzer_loud.append((now, message["freq"], message.get("loud", 0)))
        elif kind == "vibration":
            self.vibration.append((now, message["state"]))
        elif kind == "led":
            self.led.append((now, message["state"]))
        elif kind == "flash":
            if message["op"] in FILE_OPS + BLOCK_OPS:
                self.stats["flash_writes"] += 1
                self.stats["flash_bytes_written"] += message.get("bytes", 0)
            if message["op"] in BLOCK_OPS:
                self.stats["flash_block_ops"] += 1
        elif kind == "crash":
            self.crashed(f"the firmware crashed: {message.get('error')}", dict(message, t=now))
        else:
            if kind == "boot":
                self.stats["boots"] += 1
                self.stats["runner_heap"] = message.get("heap_base", 0)
            self.events.append(dict(message, t=now))
        return None

    def waited(self, heap: int | None):
        """A step ended; `heap`: the live heap after a collection."""
        self.stats["wakeups"] += 1
        if heap is not None:
            self.stats["heap_peak"] = max(self.stats["heap_peak"], heap)
            self.stats["firmware_heap_peak"] = max(self.stats["firmware_heap_peak"],
                                                   heap - self.stats["runner_heap"])

    def crashed(self, error: str, event: dict):
        self.stats["crashes"] += 1
        self.error = error
        self.events.append(event)

    def power_lost(self, now: int):
        """Power loss silences the buzzer, darkens the LED and stops the motor."""
        if self.buzzer and self.buzzer[-1][1] != 0:
            self.buzzer.append((now, 0))
            self.buzzer_loud.append((now, 0, 0))
        if self.vibration and self.vibration[-1][1] != 0:
            self.vibration.append((now, 0))
        if self.led and self.led[-1][1] != 0:
            self.led.append((now, 0))

    def last_serial_line(self) -> bytes | None:
        lines = [line for line in bytes(self.serial[-2000:]).splitlines() if line.strip()]
        return lines[-1] if lines else None

    def snapshot(self) -> dict:
        result: dict = dict(self.stats)
        if self.error:
            result["error"] = self.error
        return result
