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
from pumpwatch.settings import CONFIRM_DOSE_RANGE, CONFIRM_PROGRAMMER_MISMATCH, CONFIRMATIONS

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
        print(report.forecast_text(forecast, loaded.warnings + forecast.warnings(), settings_file.zone_name(loaded)))
    return EXIT_OK


def cmd_emulate(args) -> int:
    import signal

    from pumpsync import emulate_console, emulated_units
    from pumpsync.emulator import Emulator, EmulatorError

    if args.speed < 0:
        raise UsageError("--speed must be 0 or more")
    state = args.state or ".emulator/unit"

    def stop(signum, frame):  # SIGTERM, SIGHUP (a closed terminal): stop as Ctrl-C does, cleaning up
        raise KeyboardInterrupt

    for name in ("SIGTERM", "SIGHUP"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), stop)
    entry = None
    try:
        with Emulator(state_dir=state, start_time=args.start, speed=args.speed, backend=args.backend,
                      heap_kb=args.heap, vibration=args.vibration,
                      **({"firmware": args.firmware} if args.backend == "rp2" else {})) as emu:
            if args.register:
                entry = emulated_units.register(emu.port, args.backend, emu.state_dir)
            print(f"PumpWatch emulated unit ({args.backend}) running; serial port: {emu.port}", flush=True)
            if args.backend == "rp2":
                print(f"a Pico with MicroPython only: install with `make deploy BOARD=rp2 PORT={emu.port}`; "
                      f"control socket: {getattr(emu, 'control_socket', '?')}", flush=True)
            print(f"state (flash, clock): {emu.state_dir}; Ctrl-C stops it", flush=True)
            if args.register:
                print("pumpsync finds it without --port while it is the only unit", flush=True)
            if emulate_console.interactive():
                emulate_console.run(emu, args.backend, sound=args.sound)
                print("stopping the emulated unit", flush=True)
            else:
                if args.sound:
                    print("--sound needs a terminal (stdin is not one): the buzzer is not played", flush=True)
                while True:
                    time.sleep(3600)
    except KeyboardInterrupt:  # at any moment, even before the first sleep: a normal stop
        print("\nstopping the emulated unit", flush=True)
    except EmulatorError as exc:
        print(f"pumpsync: {exc}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        emulated_units.unregister(entry)
    return EXIT_OK


def cmd_simulate(args) -> int:
    import tempfile
    from pathlib import Path

    from pumpsync import scenario, sync_checks
    from pumpsync.terminal import progress

    loaded = settings_file.load(args.settings, None)
    if loaded.errors:
        for line in loaded.errors:
            print(line, file=sys.stderr)
        return EXIT_BAD_INPUT

    with tempfile.TemporaryDirectory() as state:
        print(f"Simulating a refill cycle of {args.settings} on an emulated unit "
              f"(real firmware under MicroPython, virtual time, at most {args.horizon_days} days).", flush=True)
        print("The nurse pairs the unit and syncs the settings with pumpsync over its serial port:", flush=True)
        # shown from the first virtual day on (after the sync's own lines): a simulation always takes a while
        with progress("simulating", total=args.horizon_days, unit="virtual days", eta=True,
                      show_after_s=0) as shown:
            def on_progress(done: float, total: float):
                shown.update(done, total=total)

            result = scenario.run_cycle(Path(state), Path(args.settings), ack_after_s=args.ack_after,
                                        via_pumpsync=True, horizon_days=args.horizon_days,
                                        on_progress=on_progress)
    forecast = result.forecast
    print(report.forecast_text(forecast, []).split("\n")[0])
    print()
    for line in scenario.timeline(result):
        print("  " + line)
    print()
    zone = scenario.patient_zone(result)
    print(f"  {sync_checks.DUE_WORDS}: {zone.local(forecast.clinical_due_at)} (book the refill by then)")
    print(f"  {sync_checks.ALARM_WORDS}: {zone.local(forecast.refill_due_at)} "
          f"({forecast.refill_due_reason.replace('_', ' ')})")
    stats = result.stats
    print(f"  simulated {(result.ended - result.started) / 86400:.1f} days in {result.wall_s:.1f} s: "
          f"{stats['wakeups']} wake-ups, {stats['flash_writes']} flash writes, "
          f"{len(result.patient.presses)} button presses by the scripted patient")
    night, needless = scenario.night_presses(result)
    window = f"{timecalc.format_hhmm(forecast.days.end)}-{timecalc.format_hhmm(forecast.days.start)}"
    print(f"  presses at night ({window} local): {night}, of them while empty was still 24 h or more "
          f"away: {needless}")
    if result.horizon_days is not None:
        zone = scenario.patient_zone(result)
        empty = forecast.empty_at
        state = ("the reservoir was not yet empty" if empty is None or empty > result.ended
                 else "the reservoir was empty")
        print(f"  stopped at the {result.horizon_days:g}-day horizon (--horizon-days): {state}; events after "
              f"{zone.local(int(result.ended))} not simulated:")
        for what, at in result.skipped():
            print(f"    {what}: {zone.local(at)} (forecast)")
    return EXIT_OK


def _horizon_days(text: str) -> int:
    from pumpsync.scenario import HORIZON_DAYS

    try:
        days = int(text)
    except ValueError:
        days = 0
    if not 1 <= days <= HORIZON_DAYS:
        raise argparse.ArgumentTypeError(f"must be a whole number of days from 1 to {HORIZON_DAYS}, not {text!r}")
    return days


def cmd_alarm_preview(args) -> int:
    from pathlib import Path

    from pumpwatch import sounds

    from pumpsync import alarm_words, wav_preview

    folder = Path(args.wav)
    patterns = [p for p in sounds.ALARMS if args.pattern in ("all", p.name)]
    targets = [folder / wav_preview.file_name(p) for p in patterns] + [folder / "README.txt"]
    existing = [str(t) for t in targets if t.exists()]
    if existing and not args.force:
        raise UsageError(f"{', '.join(existing)} already exist{'s' if len(existing) == 1 else ''}: nothing was "
                         "written (add --force to overwrite)")
    folder.mkdir(parents=True, exist_ok=True)
    for pattern, target in zip(patterns, targets):
        seconds = wav_preview.write_wav(pattern, target)
        print(f"{target}  {seconds:.1f} s  ({alarm_words.WORDS[pattern.name].title})")
    targets[-1].write_text(alarm_words.readme_text(), encoding="utf-8")
    print(f"{targets[-1]}  what each sound means")
    return EXIT_OK


UNIT_OPTION_DEFAULTS = {"port": "auto", "keystore": None, "db": None, "timeout": 5.0}
# `pumpsync --help` lists the commands in the order of a refill visit, then the technician's
VISIT_ORDER = ("ports", "pair", "status", "time", "forecast", "refill", "sync", "handout", "alarm", "log", "history",
               "board", "keys", "unpair", "maintenance", "deploy", "factory-reset", "emulate", "simulate")


def decimal_number(text: str) -> float:
    """A number as a nurse types it: 1.8 or, with a decimal comma, 1,8 (never a thousands separator)."""
    cleaned = text.strip()
    if cleaned.count(",") == 1 and "." not in cleaned:
        cleaned = cleaned.replace(",", ".")
    try:
        return float(cleaned)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number (write 1.8 or 1,8)") from None


def _unit_options(suppress: bool) -> argparse.ArgumentParser:
    """--port, --keystore, --db, --timeout: accepted before the command and after it."""
    shared = argparse.ArgumentParser(add_help=False)
    default = (lambda name: argparse.SUPPRESS) if suppress else UNIT_OPTION_DEFAULTS.get
    shared.add_argument("--port", metavar="PORT", default=default("port"),
                        help="the unit's serial port (e.g. /dev/ttyACM0, COM4); default: auto, the one unit "
                             "plugged in (refused when there are several)")
    shared.add_argument("--keystore", metavar="PATH", default=default("keystore"),
                        help="file of per-unit keys (default: keys.json in your config folder)")
    shared.add_argument("--db", metavar="PATH|URL", default=default("db"),
                        help="the history database: a SQLite file in an existing folder, or the clinic's shared "
                             "PostgreSQL as postgresql://user@host/dbname (default: $PUMPSYNC_DB if set, else "
                             "history.sqlite in your data folder)")
    shared.add_argument("--timeout", type=float, default=default("timeout"), metavar="S",
                        help="seconds to wait for each answer of the unit, 0.5 to 300 (default 5)")
    return shared


def _add_unit_commands(commands):
    from pumpsync import alarm_words, sync_checks, unit_commands as uc

    shared = _unit_options(suppress=True)

    def add(parent, name, handler, help_text, description, with_port=True, **extra):
        parser = parent.add_parser(name, help=help_text, description=description,
                                   parents=[shared] if with_port else [], **extra)
        parser.set_defaults(handler=handler)
        return parser

    p = add(commands, "ports", uc.cmd_ports, "list serial ports and which may be a PumpWatch unit",
            "List serial ports with USB VID:PID, serial number and a guess of the board.", with_port=False)
    p.add_argument("--json", action="store_true", help="print JSON (default: a table)")
    p = add(commands, "pair", uc.cmd_pair, "pair this computer with a unit (needs a long press on the unit)",
            "Give the unit a new key; it keeps it only if its button is long-pressed within 30 s, the press "
            "beginning after the unit's pairing trill.  A paired unit takes a new key only from a computer "
            "it already trusts.")
    p.add_argument("--name", metavar="NAME", help="what the unit calls this computer (default: its host name)")
    p = add(commands, "status", uc.cmd_status, "the unit's clock, alarms, battery and its forecast",
            "Read the unit's status: clock and drift (a warning beyond a minute), what is active and sounding in "
            "the patient's words, battery, and its own forecast (the same keys as pumpsync forecast --json).")
    p.add_argument("--json", action="store_true", help="print one JSON object, times in UTC (default: text)")
    time_cmd = commands.add_parser("time", help="show or set the unit's clock",
                                   description="Show the unit's clock next to this computer's, or set it.")
    time_sub = time_cmd.add_subparsers(dest="time_command", metavar="ACTION", required=True)
    p = add(time_sub, "show", uc.cmd_time_show, "the unit's clock and this computer's, and how far apart",
            "Show the unit's clock and this computer's in the patient's local time, and how far apart they are.")
    p.add_argument("--json", action="store_true", help="print JSON, times in UTC (default: text)")
    p = add(time_sub, "set", uc.cmd_time_set, "set the unit's clock from this computer's",
            "Set the unit's clock (UTC) from this computer's clock.  More than 3 h, or to before the unit's "
            "refill, needs --confirm clock-jump (or a yes at the terminal).")
    p.add_argument("--confirm", action="append", metavar="CHECK", choices=[uc.CONFIRM_CLOCK_JUMP],
                   help="clock-jump: move the clock by more than 3 h, or to before the unit's refill (default: "
                        "ask at a terminal, refuse otherwise)")
    p = add(commands, "sync", uc.cmd_sync, "check new settings, compare with the unit's, write and verify them",
            "Check the unit's clock (and set it, with your consent when it is far off), check SETTINGS.json, "
            "compare it with the settings on the unit (dose and concentration changes need --confirm), show "
            "before/after, write, read back, print the new refill due date.  Exit 3: written, but the refill "
            "check (--returned-ml) flagged a discrepancy.")
    p.add_argument("settings", metavar="SETTINGS.json", help="the new prescription settings file")
    p.add_argument("--confirm", action="append", metavar="CHECK",
                   choices=[*CONFIRMATIONS, *sync_checks.SYNC_CONFIRMATIONS, uc.CONFIRM_CLOCK_JUMP],
                   help="accept a check that would stop the sync (repeatable; default: none): dose-range, "
                        "programmer-mismatch (PumpWatch and the programmer's printout disagree), no-printout (no "
                        "programmer block in the file), dose-change, concentration-change, older-refill, new-patient (the "
                        "unit holds another patient.label), "
                        "clock-jump (the unit's clock is more than 3 h from this computer's); overrides are logged "
                        "on the unit and in the history")
    p.add_argument("--yes", action="store_true",
                   help="do not ask 'proceed?' (the --confirm checks still apply; default: ask)")
    p.add_argument("--returned-ml", type=decimal_number, metavar="ML",
                   help="volume drained from the pump before refilling: reconcile it with the expected one "
                        "(default: no reconciliation)")
    p.add_argument("--flag-pct", type=decimal_number, default=sync_checks.DEFAULT_FLAG_PCT, metavar="PCT",
                   help="flag a delivered-volume discrepancy beyond this percentage, 0 to 100 (default 15)")
    p = add(commands, "refill", uc.cmd_refill, "reconcile the volume drained from the pump (before the sync)",
            "Compare the volume the nurse drained with the unit's expected remaining volume, BEFORE syncing "
            "the new settings; a discrepancy beyond --flag-pct is flagged (leak, pocket fill, pump error), "
            "recorded on the unit and here, and exits 3.")
    p.add_argument("--returned-ml", type=decimal_number, required=True, metavar="ML",
                   help="the volume drained, above 0 and at most the reservoir (required)")
    p.add_argument("--flag-pct", type=decimal_number, default=sync_checks.DEFAULT_FLAG_PCT, metavar="PCT",
                   help="flag a discrepancy beyond this percentage, 0 to 100 (default 15)")
    p.add_argument("--json", action="store_true", help="print JSON (default: text)")
    alarm_cmd = commands.add_parser("alarm", help="teach the alarm sounds (play them, or write them as WAV files)",
                                    description="Teach the patient the alarm sounds: play them on the unit, or "
                                                "write them as WAV files for the patient's phone.")
    alarm_sub = alarm_cmd.add_subparsers(dest="alarm_command", metavar="ACTION", required=True)
    pattern_names = alarm_words.names()
    pattern_help = f"{', '.join(pattern_names)} or all, in that (teaching) order (default: all)"
    p = add(alarm_sub, "test", uc.cmd_alarm_test, "play the alarms on the unit, with words to read out",
            "For each alarm pattern: print what it sounds like and means, for the nurse to read out to the "
            "patient, then play one burst of it on the unit and wait until it has ended plus a second.  "
            "Recorded in the history.")
    p.add_argument("pattern", nargs="?", default="all", choices=[*pattern_names, "all"], metavar="PATTERN",
                   help=pattern_help)
    p.add_argument("--pause", type=float, default=2.0, metavar="S",
                   help="more seconds of silence between one pattern and the next, 0 to 600 (default 2)")
    p = add(alarm_sub, "preview", cmd_alarm_preview, "write the alarm sounds as WAV files (no unit needed)",
            "Write each alarm pattern as DIR/pumpwatch-<name>.wav (16-bit mono 22050 Hz, two bursts with the "
            "real silence between them), from the same data the unit plays, and DIR/README.txt with what each "
            "one means, for the patient's phone.", with_port=False)
    p.add_argument("pattern", nargs="?", default="all", choices=[*pattern_names, "all"], metavar="PATTERN",
                   help=pattern_help)
    p.add_argument("--wav", required=True, metavar="DIR", help="folder to write to (made if missing; required)")
    p.add_argument("--force", action="store_true",
                   help="overwrite files already there (default: refuse, naming the file)")
    p = add(commands, "log", uc.cmd_log, "download the unit's event log (or clear it)",
            "Download the unit's event log (boots, alarms, acknowledgements, syncs), times in the patient's "
            "local time.  `pumpsync log clear` keeps a copy in the history, then clears the unit's log.")
    p.add_argument("action", nargs="?", choices=["download", "clear"], default="download", metavar="ACTION",
                   help="download (default) or clear")
    p.add_argument("--json", action="store_true", help="print JSON: each event as the unit keeps it (t: epoch seconds) and its time as UTC ISO 8601 with Z (at) (default: text)")
    p.add_argument("--csv", metavar="FILE", help="write CSV to FILE (default: print text)")
    p.add_argument("--force", action="store_true", help="overwrite the --csv FILE if it exists (default: refuse)")
    p.add_argument("--since", metavar="WHEN",
                   help="only events from this date (2027-01-01, local midnight) or ISO time on (default: all)")
    p.add_argument("--unit-id", dest="yes_i_typed", metavar="ID",
                   help="log clear: the unit's id, as the confirmation in a script (default: type it)")
    p = add(commands, "history", uc.cmd_history, "what was synced, paired, reconciled and downloaded, and when",
            "Show the local record of syncs, pairings, refill checks and downloads (no unit needed: the unit "
            "options are accepted and only --db is used).")
    p.add_argument("--unit", metavar="ID", help="only this unit (default: every unit)")
    p.add_argument("--json", action="store_true", help="print JSON, times as UTC ISO 8601 with Z, settings as objects (default: text)")
    keys_cmd = commands.add_parser("keys", help="the computers a unit trusts (list, add, revoke)",
                                   description="List, add or revoke the named computers (keys) a unit trusts; "
                                               "adding one needs a long press on the unit.")
    keys_sub = keys_cmd.add_subparsers(dest="keys_command", metavar="ACTION", required=True)
    add(keys_sub, "list", uc.cmd_keys_list, "the names of the computers the unit trusts",
        "List the names of the computers the unit trusts (at most 4).")
    p = add(keys_sub, "add", uc.cmd_keys_add, "let another computer of the clinic change the unit",
            "From a computer the unit trusts: make a key for another computer, confirmed by a long press on "
            "the unit, and write it to --to.")
    p.add_argument("name", help="what the unit will call that computer (letters, digits, space . _ -)")
    p.add_argument("--to", required=True, metavar="KEYSTORE", help="keystore file to write the new key to (required)")
    p = add(keys_sub, "revoke", uc.cmd_keys_remove, "revoke a computer's key (it can no longer change the unit)",
            "Revoke a computer's key on the unit (it can no longer change it).", aliases=["remove"])
    p.add_argument("name", help="the computer's name, as `pumpsync keys list` shows it")
    p.add_argument("--yes", action="store_true", help="do not ask 'revoke?' (default: ask)")
    p = add(commands, "unpair", uc.cmd_unpair, "this computer gives up its key on the unit",
            "Revoke this computer's own key on the unit and forget it here (the unit keeps the other computers').")
    p.add_argument("--yes", action="store_true", help="do not ask 'unpair?' (default: ask)")
    p = add(commands, "maintenance", uc.cmd_maintenance, "let mpremote in (the unit stops monitoring for a while)",
            "Authenticated request that drops the unit to the MicroPython REPL for deployment with mpremote; "
            "the watchdog brings it back to monitoring after --minutes.")
    p.add_argument("--minutes", type=int, default=5, help="1-30 (default 5)")
    p = add(commands, "deploy", uc.cmd_deploy, "install or update the firmware on a unit (mpremote)",
            "Build the firmware as .mpy for a board, check the board the unit reports, put a running unit into "
            "maintenance, copy only the changed files with mpremote, reset, and verify the new version.  "
            "Settings, keys and the event log on the unit are kept.")
    p.add_argument("--board", required=True, choices=["esp32", "rp2", "pico-w"],
                   help="the board's configuration (required; checked against the board the unit reports)")
    p.add_argument("--source", metavar="DIR", help="firmware tree to deploy (default: firmware/)")
    p = add(commands, "factory-reset", uc.cmd_factory_reset, "erase the unit's patient: settings, keys and log",
            "Erase the unit's settings, keys and event log (a copy of the log is kept in the history) for the "
            "next patient.  You type the unit's id to confirm.")
    p.add_argument("--unit-id", metavar="ID", help="the unit's id, as the confirmation in a script (default: type it)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pumpsync", parents=[_unit_options(suppress=True)],
        description="PumpWatch host tools: forecast refills and look after a PumpWatch unit.  The commands "
                    "below are in the order of a refill visit (ports, pair, status, time, forecast, refill, sync, "
                    "handout, alarm, log, history), then the technician's.  Unit options (--port, --keystore, --db, "
                    "--timeout) go before or after the command.",
        epilog="Exit codes: 0 done, 1 failed while doing it, 2 bad input (nothing was changed), 3 a refill check "
               "flagged a discrepancy.  `pumpsync COMMAND --help` tells more.")
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
    forecast.add_argument("--confirm", action="append", metavar="CHECK",
                          choices=[CONFIRM_DOSE_RANGE, CONFIRM_PROGRAMMER_MISMATCH],
                          help=f"accept a check that would refuse the file ({CONFIRM_DOSE_RANGE}: average dose "
                               f"outside the range observed for the patient's origin and age; "
                               f"{CONFIRM_PROGRAMMER_MISMATCH}: PumpWatch disagrees with the programmer's printout; "
                               "repeatable; default: none)")
    forecast.set_defaults(handler=cmd_forecast)

    emulate = commands.add_parser(
        "emulate", help="run an emulated PumpWatch unit on a pseudo-terminal",
        description="Boot the real firmware under MicroPython (WebAssembly, or the unix port) with simulated hardware "
                    "and expose its USB serial port as a pseudo-terminal that pumpsync, pyserial and "
                    "mpremote open like a real port.  Runs until Ctrl-C (or q).  At a terminal the keyboard "
                    "is the unit's button (s short press, l long press: status or pairing, r refilled elsewhere, "
                    "h help, q quit) and a live panel shows the buzzer, LED, vibration motor, the last sound and "
                    "the unit's virtual time.  While it is the only unit, pumpsync finds it without --port.")
    emulate.add_argument("--state", metavar="DIR",
                         help="the unit's flash and clock (default .emulator/unit); a new directory "
                              "is a factory-fresh unit with the current firmware")
    emulate.add_argument("--speed", type=float, default=1.0, metavar="X",
                         help="virtual seconds per real second (default 1; 0 freezes time)")
    emulate.add_argument("--start", metavar="ISO", help="virtual time at start (default now)")
    emulate.add_argument("--backend", choices=["wasm", "unix", "rp2"], default="wasm",
                         help="wasm: the WebAssembly port, flash = DIR/flash/ (default); unix: the unix port "
                              "with a real heap cap and a littlefs image DIR/flash.img, running the .mpy build; "
                              "rp2: an emulated Raspberry Pi Pico (rp2040js) running the official MicroPython "
                              "UF2, flash = DIR/flash.bin, PumpWatch installed by pumpsync deploy --board rp2")
    emulate.add_argument("--firmware", metavar="UF2",
                         help="the rp2 backend's MicroPython firmware.uf2 (default $PUMPWATCH_RP2_UF2, "
                              "else ../shared/rp2/firmware.uf2 beside the repository)")
    emulate.add_argument("--heap", type=int, default=128, metavar="KB",
                         help="the unix backend's heap in KB (default 128; the wasm heap grows)")
    emulate.add_argument("--vibration", action="store_true",
                         help="fit the emulated board with a vibration motor (emu.vibration_log(); default: none)")
    emulate.add_argument("--sound", action="store_true",
                         help="at a terminal, also play the buzzer's notes through the computer's speaker "
                              "(paplay, aplay, pw-play or afplay, whichever is on PATH; default: shown only)")
    emulate.add_argument("--no-register", dest="register", action="store_false",
                         help="do not announce the unit to --port auto and pumpsync ports (default: announced, in "
                              "the runtime folder, $PUMPSYNC_RUNTIME_DIR/emulated/ if set)")
    emulate.set_defaults(handler=cmd_emulate)
    _add_unit_commands(commands)
    from pumpsync import handout
    handout.add_parser(commands, _unit_options(suppress=True))
    from pumpsync import board
    board.add_parser(commands, _unit_options(suppress=True))

    simulate = commands.add_parser(
        "simulate", help="run a whole refill cycle on an emulated unit and print its timeline",
        description="Pair a factory-fresh emulated unit and sync SETTINGS.json to it with pumpsync, "
                    "fast-forward from the refill until an hour after the reservoir would be empty, with a "
                    "scripted patient who presses the button each time the unit sounds, and print what "
                    "happened when.  It never runs past --horizon-days after the refill: stopped there, it "
                    "says so and lists the forecast moments it did not reach.  On a terminal, stderr shows "
                    "the virtual days done.")
    simulate.add_argument("settings", metavar="SETTINGS.json", help="the prescription settings file")
    simulate.add_argument("--ack-after", type=float, default=30, metavar="S",
                          help="seconds the patient takes to press the button (default 30)")
    simulate.add_argument("--horizon-days", type=_horizon_days, default=400, metavar="N",
                          help="stop at most N days after the refill (1-400, default 400: the span the "
                               "patient's time-zone changes are resolved for)")
    simulate.set_defaults(handler=cmd_simulate)
    _in_visit_order(commands)
    return parser


def _in_visit_order(commands):
    rank = {name: i for i, name in enumerate(VISIT_ORDER)}
    commands._choices_actions.sort(key=lambda action: rank.get(action.dest, len(rank)))


def _failure(exc: Exception) -> int:
    from pumpsync.client import UnitError, printable
    from pumpsync.session import CommandFailed

    if isinstance(exc, CommandFailed):
        print(f"pumpsync: {exc}", file=sys.stderr)
        return exc.exit_code
    if isinstance(exc, (UnitError, OSError)):
        print(f"pumpsync: {printable(exc)}", file=sys.stderr)
        return EXIT_FAILED
    if isinstance(exc, KeyError):  # a field pumpsync reads from every PumpWatch reply
        missing = f" (its field {printable(exc.args[0])} is missing)" if exc.args else ""
        print(f"pumpsync: the device's answer is not what a PumpWatch unit sends{missing}: is it a PumpWatch unit "
              "with firmware this pumpsync knows? (nothing more was done)", file=sys.stderr)
        return EXIT_FAILED
    # Anything else is a reply pumpsync did not expect (a damaged or rogue device) or a bug:
    # one sentence, never a traceback, and nothing recorded as done.
    print(f"pumpsync: unexpected {type(exc).__name__}: {printable(exc)} (nothing more was done)", file=sys.stderr)
    return EXIT_FAILED


def _quiet_broken_pipe() -> int:
    """`pumpsync log | head`: the reader went away; stop without a word (as other tools do)."""
    import os
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    return 141  # 128 + SIGPIPE, what a shell reports for a reader that stopped early


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        for name, default in UNIT_OPTION_DEFAULTS.items():
            if not hasattr(args, name):
                setattr(args, name, default)
        code = args.handler(args)
        sys.stdout.flush()  # a reader gone early is found here, not at exit
        return code
    except UsageError as exc:
        print(f"pumpsync: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except BrokenPipeError:
        return _quiet_broken_pipe()
    except KeyboardInterrupt:
        print("\npumpsync: interrupted: run pumpsync status to see what the unit holds now", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - every failure is one sentence, never a traceback
        try:
            return _failure(exc)
        except BrokenPipeError:
            return _quiet_broken_pipe()
