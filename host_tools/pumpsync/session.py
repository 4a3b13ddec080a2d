"""An open conversation with one unit, for one pumpsync command.

Owns what every unit command does first and the same way: check its local
files (history, keystore) before the port is touched, find and lock the port,
say hello, look up this computer's key for the unit, and the patient's time
zone for showing times (from the settings the unit holds, else this
computer's).  Also the one-sentence failure (`CommandFailed`) and the
'proceed?' question.
"""

from __future__ import annotations

import json
import math
import sys

from pumpwatch.settings import check as check_settings

from pumpsync import ports as port_lookup
from pumpsync import times
from pumpsync.client import UnitClient
from pumpsync.history import History, HistoryPathError
from pumpsync.keystore import Keystore

MIN_TIMEOUT_S, MAX_TIMEOUT_S = 0.5, 300


class CommandFailed(Exception):
    """One sentence for the nurse; exit code 1 (2 when `bad_input`, or `exit_code`)."""

    def __init__(self, message: str, bad_input: bool = False, exit_code: int | None = None):
        super().__init__(message)
        self.bad_input = bad_input
        self.exit_code = exit_code if exit_code is not None else (2 if bad_input else 1)


class Cancelled(CommandFailed):
    """Ctrl-C (or end of input) at a question: nothing after the question was done."""

    def __init__(self):
        super().__init__("cancelled at the question: nothing more was done (what was shown above as done "
                         "stays done)", exit_code=1)


def open_history(path, read_only: bool = False) -> History:
    try:
        return History(path, read_only=read_only)
    except HistoryPathError as exc:
        raise CommandFailed(str(exc), bad_input=True) from None


def check_timeout(value: float):
    if not (isinstance(value, (int, float)) and math.isfinite(value) and MIN_TIMEOUT_S <= value <= MAX_TIMEOUT_S):
        raise CommandFailed(f"--timeout: {value} is not a number of seconds from {MIN_TIMEOUT_S:g} to "
                            f"{MAX_TIMEOUT_S}", bad_input=True)


class Session:
    """An open connection to the unit named by --port, with its key if paired."""

    def __init__(self, args, need_key: bool = False):
        check_timeout(args.timeout)
        self.keystore = Keystore(args.keystore)
        keys_readable = True
        try:
            self.keystore.check()
        except OSError as exc:
            if need_key:
                raise
            # reading a unit is open: a damaged key file must not stop a nurse seeing what it sounds
            print(f"pumpsync: WARNING {exc}: reading the unit without this computer's key", file=sys.stderr)
            keys_readable = False
        self.history = open_history(args.db)
        self._open: UnitClient | None = None
        try:
            try:
                self.port = port_lookup.resolve(args.port)
            except port_lookup.PortError as exc:
                raise CommandFailed(str(exc)) from None
            self.client: UnitClient = UnitClient(self.port, timeout=args.timeout,
                                                 command=getattr(args, "command", None))
            self._open = self.client
            self.hello = self.client.call("hello")
            self.unit_id = self.hello["unit_id"]
            self.client.note_unit(self.unit_id)
            if not times.is_instant(self.hello.get("time")):
                self.hello["time"] = None  # a time no unit could mean is read as "clock lost", everywhere
            if keys_readable:
                try:
                    self.client.key = self.keystore.key_for(self.unit_id)
                    self.client.key_name = self.keystore.name_for(self.unit_id)
                except OSError as exc:  # this unit's entry is damaged
                    if need_key:
                        raise
                    print(f"pumpsync: WARNING {exc}: reading the unit without this computer's key",
                          file=sys.stderr)
            if need_key and self.client.key is None:
                raise CommandFailed(f"unit {self.unit_id} is not paired with this computer: run pumpsync pair "
                                    "first")
        except BaseException:
            self.close()
            raise
        self._settings = None

    def unit_settings(self):
        """(text, prescription, document) of the settings the unit holds; (None, None, None) if none.
        A stored file this pumpsync cannot check gives a None prescription."""
        if self._settings is None:
            text = self.client.call("settings_get", verified=True)["text"]
            if not isinstance(text, str):
                self._settings = (None, None, None)
            else:
                self._settings = (text, *settings_of_text(text))
        return self._settings

    def zone(self) -> times.Zone:
        """The patient's zone from the unit's settings, else this computer's."""
        _, prescription, document = self.unit_settings()
        return times.zone_of_settings(prescription, document)

    def close(self):
        if self._open is not None:
            self._open.close()
        self.history.close()


def ask(question: str, assume_yes: bool) -> bool:
    if assume_yes:
        return True
    if not sys.stdin.isatty():
        raise CommandFailed("not at a terminal, so nobody can answer 'proceed?': add --yes to proceed",
                            bad_input=True)
    try:
        answer = input(f"{question} [y/N] ").strip().lower()
    except EOFError:
        answer = ""
    except KeyboardInterrupt:
        print()
        raise Cancelled() from None
    return answer in ("y", "yes")


def settings_of_text(text: str):
    """(prescription, document) of a stored settings text; (None, None) for a file this pumpsync
    cannot check (other firmware's: shown without its zone)."""
    try:
        document = json.loads(text)
        return check_settings(document, None)[0], document
    except Exception:  # noqa: BLE001 - any damage or other schema reads as "cannot check"
        return None, None


def typed_unit_id(session: Session, given: str | None, what: str, unchanged: str) -> None:
    """An erasing command goes on only with the id read off the label of the unit in the nurse's hand
    (typed, or --unit-id in a script): never shown here, so that a copy of the screen cannot confirm the
    wrong unit.  CommandFailed otherwise."""
    if given is None:
        if not sys.stdin.isatty():
            raise CommandFailed(f"{what}: type the id on the unit's label to confirm (at a terminal), or give "
                                "--unit-id ID", bad_input=True)
        try:
            given = input("Type the unit id from the unit's label to confirm: ").strip()
        except (KeyboardInterrupt, EOFError):
            print()
            raise Cancelled() from None
    if given.lower() != session.unit_id.lower():
        raise CommandFailed(f"that is not the id of the unit on {session.port}: {unchanged} (check the label of "
                            "the unit in your hand, and which unit is plugged in)", bad_input=True)


def print_json(value):
    json.dump(value, sys.stdout, indent=2)
    print()
