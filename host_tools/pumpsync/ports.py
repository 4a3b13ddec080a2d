"""Finding a PumpWatch unit among the computer's serial ports.

Owns the list of USB IDs that may be a unit (RP2040's own USB, the USB-UART
bridges ESP32 boards use) and `--port auto`: one recognised port is used,
several are refused (never guess which patient's unit to change).  The
emulated units a `pumpsync emulate` runs (`emulated_units`) count as
plugged-in units.
"""

from __future__ import annotations

from serial.tools import list_ports

from pumpsync import emulated_units

KNOWN = {
    (0x2E8A, 0x0005): "Raspberry Pi Pico / RP2040 (MicroPython)",
    (0x303A, 0x1001): "ESP32-S2/S3/C3 native USB",
    (0x10C4, 0xEA60): "ESP32 board (Silicon Labs CP210x bridge)",
    (0x1A86, 0x7523): "ESP32 board (WCH CH340 bridge)",
    (0x1A86, 0x55D4): "ESP32 board (WCH CH9102 bridge)",
    (0x0403, 0x6001): "ESP32 board (FTDI bridge)",
}


class PortError(Exception):
    pass


def describe() -> list[dict]:
    found = []
    for port in sorted(list_ports.comports(), key=lambda p: p.device):
        ids = (port.vid, port.pid) if port.vid is not None else None
        found.append({"port": port.device,
                      "vid_pid": f"{port.vid:04X}:{port.pid:04X}" if ids else None,
                      "serial_number": port.serial_number,
                      "board": KNOWN.get(ids) if ids else None,
                      "description": port.description, "emulated": False})
    for entry in emulated_units.running():
        found.append({"port": entry["port"], "vid_pid": None, "serial_number": None,
                      "board": emulated_units.board_name(entry),
                      "description": f"pumpsync emulate, process {entry['pid']}, state {entry.get('state_dir')}",
                      "emulated": True})
    return found


def resolve(port: str) -> str:
    if port != "auto":
        return port
    candidates = [p for p in describe() if p["board"]]
    if not candidates:
        raise PortError("no PumpWatch unit found on USB: plug it in, or name it with --port")
    if len(candidates) > 1:
        names = ", ".join(f"{p['port']} ({p['board']})" for p in candidates)
        raise PortError(f"several possible units ({names}): name one with --port")
    return candidates[0]["port"]
