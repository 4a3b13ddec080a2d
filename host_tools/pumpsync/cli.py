"""The `pumpsync` command line: one sub-command per nurse or technician task.

Owns argument parsing, exit codes and where output goes.  Exit codes:
0 success, 1 a failure while doing the task, 2 bad input (settings file or
arguments).  Errors are one clear sentence per problem on stderr, never a
traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from pumpwatch import timecalc
from pumpwatch.forecast import Forecast
from pumpwatch.settings import CONFIRM_DOSE_RANGE

from pumpsync import FIRMWARE_VERSION, report, settings_file

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2


class UsageError(Exception):
    """A bad argument: reported as one line, exit code 2."""


def _instant(text: str) -> int:
    epoch = timecalc.parse_iso(text)
    if epoch is None:
        raise UsageError(f"--at: \"{text}\" is not an ISO 8601 time with Z or an offset "
                         "(e.g. 2026-11-22T09:00:00Z)")
    return epoch


def cmd_forecast(args) -> int:
    as_of = _instant(args.at) if args.at else int(time.time())
    loaded = settings_file.load(args.settings, as_of, tuple(args.confirm or ()))
    if loaded.errors:
        for line in loaded.errors:
            print(line, file=sys.stderr)
        print(f"{args.settings}: {len(loaded.errors)} problem(s); nothing was forecast", file=sys.stderr)
        return EXIT_BAD_INPUT
    forecast = Forecast(loaded.prescription, as_of)
    if args.json:
        json.dump(forecast.as_dict(loaded.warnings), sys.stdout, indent=2)
        print()
    else:
        print(report.forecast_text(forecast, loaded.warnings + forecast.warnings()))
    return EXIT_OK


def cmd_emulate(args) -> int:
    from pumpsync.emulator import Emulator, EmulatorError

    if args.speed < 0:
        raise UsageError("--speed must be 0 or more")
    state = args.state or ".emulator/unit"
    try:
        with Emulator(state_dir=state, start_time=args.start, speed=args.speed) as emu:
            print(f"PumpWatch emulated unit running; serial port: {emu.port}", flush=True)
            print(f"state (flash, clock): {emu.state_dir}; Ctrl-C stops it", flush=True)
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                print("\nstopping the emulated unit", flush=True)
    except EmulatorError as exc:
        print(f"pumpsync: {exc}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def cmd_simulate(args) -> int:
    import tempfile
    from pathlib import Path

    from pumpsync import scenario

    loaded = settings_file.load(args.settings, None)
    if loaded.errors:
        for line in loaded.errors:
            print(line, file=sys.stderr)
        return EXIT_BAD_INPUT
    with tempfile.TemporaryDirectory() as state:
        print(f"Simulating a refill cycle of {args.settings} on an emulated unit "
              f"(real firmware under MicroPython, virtual time)...", flush=True)
        result = scenario.run_cycle(Path(state), Path(args.settings), ack_after_s=args.ack_after)
    forecast = result.forecast
    print(report.forecast_text(forecast, []).split("\n")[0])
    print()
    for line in scenario.timeline(result):
        print("  " + line)
    print()
    due = timecalc.format_local(forecast.refill_due_at, forecast.clock.offset_at(forecast.refill_due_at))
    print(f"  refill due: {due} local ({forecast.refill_due_reason.replace('_', ' ')})")
    stats = result.stats
    print(f"  simulated {(result.ended - result.started) / 86400:.1f} days in {result.wall_s:.1f} s: "
          f"{stats['wakeups']} wake-ups, {stats['flash_writes']} flash writes, "
          f"{len(result.patient.presses)} button presses by the scripted patient")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pumpsync",
        description="PumpWatch host tools: forecast refills and look after a PumpWatch unit.")
    parser.add_argument("--version", action="version", version=f"pumpsync {FIRMWARE_VERSION}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True

    forecast = commands.add_parser(
        "forecast", help="when will the reservoir run low, and when is the refill due",
        description="Check a settings file and print the refill forecast: remaining volume, "
                    "low-reservoir and empty times, the refill due date and reminders.")
    forecast.add_argument("settings", metavar="SETTINGS.json", help="the prescription settings file")
    forecast.add_argument("--at", metavar="ISO", help="forecast as of this time (default: now)")
    forecast.add_argument("--json", action="store_true", help="print one JSON object (stable keys)")
    forecast.add_argument("--confirm", action="append", metavar="CHECK", choices=[CONFIRM_DOSE_RANGE],
                          help=f"accept a plausibility check that would refuse the file "
                               f"({CONFIRM_DOSE_RANGE}: average dose outside 12-2003 mcg/day)")
    forecast.set_defaults(handler=cmd_forecast)

    emulate = commands.add_parser(
        "emulate", help="run an emulated PumpWatch unit on a pseudo-terminal",
        description="Boot the real firmware under MicroPython (WebAssembly) with simulated hardware "
                    "and expose its USB serial port as a pseudo-terminal that pumpsync, pyserial and "
                    "mpremote open like a real port.  Runs until Ctrl-C.")
    emulate.add_argument("--state", metavar="DIR",
                         help="the unit's flash and clock (default .emulator/unit); a new directory "
                              "is a factory-fresh unit with the current firmware")
    emulate.add_argument("--speed", type=float, default=1.0, metavar="X",
                         help="virtual seconds per real second (default 1; 0 freezes time)")
    emulate.add_argument("--start", metavar="ISO", help="virtual time at start (default now)")
    emulate.set_defaults(handler=cmd_emulate)

    simulate = commands.add_parser(
        "simulate", help="run a whole refill cycle on an emulated unit and print its timeline",
        description="Place SETTINGS.json on a factory-fresh emulated unit, fast-forward from the "
                    "refill until an hour after the reservoir would be empty, with a scripted patient "
                    "who presses the button each time the unit sounds, and print what happened when.")
    simulate.add_argument("settings", metavar="SETTINGS.json", help="the prescription settings file")
    simulate.add_argument("--ack-after", type=float, default=30, metavar="S",
                          help="seconds the patient takes to press the button (default 30)")
    simulate.set_defaults(handler=cmd_simulate)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except UsageError as exc:
        print(f"pumpsync: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("pumpsync: interrupted", file=sys.stderr)
        return EXIT_FAILED
