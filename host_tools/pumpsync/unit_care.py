"""A technician's unit commands: alarm test, maintenance, factory reset, deploy.

Owns what each does and prints.  The destructive ones ask for the unit's id
typed back (or `--unit-id` in a script), never a bare yes: a factory reset
erases the patient's settings, keys and log.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from pumpsync import alarm_words
from pumpsync import ports as port_lookup
from pumpsync.keystore import Keystore
from pumpsync.session import CommandFailed, Session, open_history, typed_unit_id

MAX_BURST_MS = 30_000  # an alarm test burst longer than this is not one of ours: no waiting on it


def cmd_alarm_test(args) -> int:
    """Teach the sounds: for each pattern, the words to read out, then one burst on
    the unit; the next one after it has ended, a second and --pause more."""
    if not 0 <= args.pause <= 600:  # also refuses nan
        raise CommandFailed(f"--pause: {args.pause} is not between 0 and 600 seconds", bad_input=True)
    names = alarm_words.names() if args.pattern == "all" else [args.pattern]
    session = Session(args, need_key=True)
    try:
        for number, name in enumerate(names, 1):
            if number > 1:
                time.sleep(args.pause)
            print(f"[{number}/{len(names)}] {name}: {alarm_words.WORDS[name].title}")
            print(f"  {alarm_words.spoken(name)}", flush=True)
            result = session.client.write("alarm_test", {"pattern": name})
            ms = result.get("ms")
            if result.get("pattern") != name or not isinstance(ms, int) or not 0 < ms <= MAX_BURST_MS:
                session.history.record("alarm_test", session.unit_id, "failed", pattern=name,
                                       reason="older firmware")
                raise CommandFailed(f"the unit did not play the {name} pattern (its firmware is older than this "
                                    "pumpsync): update it with pumpsync deploy, then test again")
            session.history.record("alarm_test", session.unit_id, "ok", pattern=name)
            print(f"  (the unit plays it now: {ms / 1000:.1f} s)", flush=True)
            time.sleep(ms / 1000 + 1)
    finally:
        session.close()
    print(f"unit {session.unit_id}: {len(names)} alarm sound{'s' if len(names) > 1 else ''} played")
    return 0


def cmd_maintenance(args) -> int:
    if not 1 <= args.minutes <= 30:
        raise CommandFailed(f"--minutes: {args.minutes} is not from 1 to 30", bad_input=True)
    session = Session(args, need_key=True)
    try:
        session.client.write("maintenance", {"minutes": args.minutes})
        session.history.record("maintenance", session.unit_id, "ok", minutes=args.minutes)
    finally:
        session.close()
    print(f"unit {session.unit_id} is in maintenance for {args.minutes} min: NOT MONITORING. mpremote can connect "
          f"now; the unit returns to monitoring by itself afterwards (or reset it)")
    return 0


def cmd_factory_reset(args) -> int:
    session = Session(args, need_key=True)
    try:
        print(f"A factory reset erases the settings of the unit on {session.port}, its keys (every computer it trusts) and "
              "its event log: the unit then has NO THERAPY SETTINGS and must be paired and synced again.",
              flush=True)
        typed_unit_id(session, args.unit_id, "factory-reset erases the patient's settings, keys and log",
                      "nothing was changed")
        from pumpsync.unit_log import download_logs, faults_of
        entries = download_logs(session.client)
        if not session.history.record("log_download", session.unit_id, "ok", events=len(entries),
                                      entries=entries, faults=faults_of(entries), reason="kept before factory reset"):
            raise CommandFailed("the unit's log could not be kept in the history, so the unit was not reset")
        session.client.write("factory_reset", {})
        session.history.record("factory_reset", session.unit_id, "ok")
        session.keystore.forget(session.unit_id)
    finally:
        session.close()
    print(f"unit {session.unit_id} was reset to factory state (its log is kept in this computer's history); "
          "pair it again to use it")
    return 0


def cmd_deploy(args) -> int:
    from pumpsync import deploy

    history = open_history(args.db)
    try:
        port = port_lookup.resolve(args.port)
        keystore = Keystore(args.keystore)
        summary = deploy.deploy(port, args.board, keystore.key_for, Path(args.source) if args.source else
                                deploy.FIRMWARE_DIR, name_for=keystore.name_for)
    except (deploy.DeployError, port_lookup.PortError) as exc:
        history.record("deploy", None, "failed", board=args.board, reason=str(exc))
        history.close()
        raise CommandFailed(str(exc)) from None
    try:
        history.record("deploy", summary["unit_id"], "ok", version=summary["version"], board=args.board,
                       copied=summary["copied"], removed=summary["removed"])
    finally:
        history.close()
    return 0

