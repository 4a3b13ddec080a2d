"""The refill visit's writes: `pumpsync sync` and `pumpsync refill`.

Owns their order (the unit's clock first, then the file, the before/after
table, confirmations, the reconciliation, the write, the read-back), what
the nurse is told when the cable is pulled or the unit stops answering at
each step (was anything changed?), and what goes into the history: only
what really happened.  The checks are the core's and sync_checks.py's.
"""

from __future__ import annotations

import json
import math
import sys
import time

from pumpwatch import protocol, records
from pumpwatch import settings as core_settings
from pumpwatch.forecast import Forecast

from pumpsync import FIRMWARE_VERSION, report, settings_file, sync_checks, times, unit_clock
from pumpsync.client import UnitError, printable
from pumpsync.session import Cancelled, CommandFailed, Session, ask, print_json

EXIT_FLAGGED = 3  # the refill check flagged a discrepancy: scripts must notice
SAME_VISIT_S = 12 * 3600  # settings refilled this recently are this visit's: too late to reconcile


def checked_settings(args, now: int):
    loaded = settings_file.load(args.settings, now, tuple(args.confirm or ()))
    if loaded.errors:
        for line in loaded.errors:
            print(line, file=sys.stderr)
        raise CommandFailed(f"{args.settings}: {len(loaded.errors)} problem(s); nothing was sent", bad_input=True)
    text = settings_file.read_text(args.settings)  # checked by load(): it reads
    assert loaded.document is not None  # no errors: the file parsed
    if "tz" in loaded.document.get("clock", {}):
        # the unit has no tz database: it gets the document with the offsets resolved here
        text = json.dumps(loaded.document, indent=1)
    travelling = [c for c in (args.confirm or ()) if c in core_settings.CONFIRMATIONS
                  and c not in loaded.document.get("confirmed", [])]
    if travelling:
        # the unit re-checks the file (and logs what was overridden): the confirmations travel with it
        document = json.loads(text)
        document["confirmed"] = list(document.get("confirmed", [])) + travelling
        text = json.dumps(document, indent=1)
    return loaded, text


def check_reconciliation_input(returned_ml, flag_pct, reservoir_ml: float | None = None):
    """Volumes and percentages a nurse typed: finite, and in range, or one clear sentence."""
    top = reservoir_ml if reservoir_ml is not None else 100
    if returned_ml is not None and (not math.isfinite(returned_ml) or not 0 < returned_ml <= top):
        where = f"the pump's {top:g} mL reservoir" if reservoir_ml is not None else f"{top:g} mL"
        raise CommandFailed(f"--returned-ml: {returned_ml:g} is not a volume above 0 and at most {where}",
                            bad_input=True)
    if not math.isfinite(flag_pct) or not 0 <= flag_pct <= 100:
        raise CommandFailed(f"--flag-pct: {flag_pct:g} is not a percentage from 0 to 100", bad_input=True)


def _printout_check(session: Session, loaded, text: str, confirmed):
    printed = loaded.prescription.programmer or {}
    if "low_reservoir_alarm_at" in printed or core_settings.CONFIRM_NO_PRINTOUT in confirmed:
        return
    if printed:
        session.history.record("sync", session.unit_id, "refused", None, text, reason="printout without alarm date")
        raise CommandFailed("the \"programmer\" block has no low_reservoir_alarm_at: without the printed alarm "
                            "date a concentration or volume typo goes unnoticed (the daily dose is the same); "
                            "copy it from the printout, or sync with --confirm no-printout (it is logged)",
                            bad_input=True)
    session.history.record("sync", session.unit_id, "refused", None, text, reason="no programmer printout")
    raise CommandFailed("the file has no \"programmer\" block: copy the low-reservoir alarm date and the "
                        "daily dose from the clinician programmer's printout into it (the cross-check that "
                        "catches a unit mix-up), or sync with --confirm no-printout (it is logged)",
                        bad_input=True)


def cmd_sync(args) -> int:
    check_reconciliation_input(args.returned_ml, args.flag_pct)
    loaded, text = checked_settings(args, int(time.time()))  # a bad file needs no unit
    session = Session(args, need_key=True)
    try:
        return sync_unit(session, args, loaded, text, time.time)
    finally:
        session.close()


def sync_unit(session: Session, args, loaded, text: str, clock) -> int:
    """Clock, compare, confirm, write, verify, report (`clock()` is this computer's time)."""
    try:
        return _sync(session, args, loaded, text, clock)
    except KeyboardInterrupt:
        # stopped part way: the unit may hold the old settings or the new ones
        session.history.record("sync", session.unit_id, "unknown", None, text, reason="interrupted")
        raise
    except UnitError as exc:
        # a failure before the settings write: nothing on the unit changed (the clock at most)
        session.history.record("sync", session.unit_id, "failed", None, text, reason=str(exc))
        raise CommandFailed(f"the unit stopped answering before the settings were written ({exc}); nothing "
                            "was changed: check the cable and sync again") from None


def _sync(session: Session, args, loaded, text: str, clock) -> int:
    host_now = int(clock())
    jump_ok = unit_clock.check_before_writing(session, host_now, args.confirm, args.yes, "sync")
    unit_time = session.hello.get("time")
    if jump_ok or unit_time is None or abs(unit_time - host_now) > unit_clock.DRIFT_WARNING_S:
        result = unit_clock.set_clock(session, int(clock()), jump_ok)
        was = ("unknown (it had lost the time)" if result["was"] is None
               else unit_clock.drift_words(result["was"] - result["time"]))
        session.history.record("time_set", session.unit_id, "ok", was=result["was"], time=result["time"],
                               jump_ok=jump_ok)
        print(f"The unit's clock was {was}: set to this computer's.")
    confirmed = tuple(args.confirm or ()) + tuple(loaded.prescription.confirmed)
    _printout_check(session, loaded, text, confirmed)
    for override in (core_settings.CONFIRM_NO_PRINTOUT, core_settings.CONFIRM_PROGRAMMER_MISMATCH):
        if override in confirmed:
            print(report.red(f"CONFIRMED OVERRIDE: {override} (recorded on the unit and in this computer's "
                             "history)"))
    before_text, before, before_document = session.unit_settings()
    if args.returned_ml is not None:
        check_reconciliation_input(args.returned_ml, args.flag_pct,
                                   before.reservoir_ul / 1000 if before is not None else None)
    forecast = Forecast(loaded.prescription, int(clock()))
    checks = sync_checks.required_confirmations(before, loaded.prescription, times.Zone.of_clock(
        forecast.clock, settings_file.zone_name(loaded)))
    missing = [c for c in checks if c.name not in (args.confirm or ())]
    before_forecast = Forecast(before, before.refill_at) if before is not None else None
    print(f"Unit {session.unit_id}: settings now and after this sync")
    print(sync_checks.comparison_table(before, loaded.prescription, forecast, before_forecast,
                                       settings_file.zone_name(loaded), times.zone_of_settings(
                                           before, before_document).name if before is not None else None))
    for warning in loaded.warnings:
        print(f"WARNING {warning}")
    if missing:
        for c in missing:
            print(f"needs confirmation: {c.message} (add --confirm {c.name})", file=sys.stderr)
        session.history.record("sync", session.unit_id, "refused", before_text, text,
                               reason=[c.name for c in missing])
        raise CommandFailed("nothing was written: confirm the changes above or fix the file", bad_input=True)
    reconciliation = None
    if args.returned_ml is not None:
        refuse_after_this_visits_sync(session, before)
        reconciliation = reconciliation_of(session, args.returned_ml, args.flag_pct, before)
        print_reconciliation(reconciliation)
    try:
        write = ask("Write these settings to the unit?", args.yes)
    except Cancelled:
        session.history.record("sync", session.unit_id, "refused", before_text, text, reason="cancelled")
        raise CommandFailed("cancelled at the question: nothing was written") from None
    if not write:
        session.history.record("sync", session.unit_id, "refused", before_text, text, reason="nurse declined")
        print("nothing was written")
        return 1
    if reconciliation is not None:
        # only now: a nurse who declines may have typed the wrong volume
        record_reconciliation(session, reconciliation)
    # The clock again just before: the unit checks refill.at against its own clock, and a few
    # minutes of drift must not make a just-done refill look like the future.
    session.client.write("time_set", {"epoch": int(clock()), "jump_ok": jump_ok})
    _write_settings(session, before_text, text)
    due = _verify(session, before_text, text, jump_ok, clock)
    zone = times.Zone.of_clock(forecast.clock, settings_file.zone_name(loaded))
    session.history.record("sync", session.unit_id, "ok", before_text, text,
                           refill_due_at=times_iso(due),
                           confirmed=sorted(set(args.confirm or ()) | set(loaded.prescription.confirmed)),
                           reconciliation=reconciliation)
    print(f"Written and verified; clock set. {sync_checks.DUE_WORDS} "
          f"{report.when(forecast, forecast.clinical_due_at, settings_file.zone_name(loaded))} (book the refill by "
          f"then); the unit's {sync_checks.ALARM_WORDS}: {zone.local(due)} "
          f"({forecast.refill_due_reason.replace('_', ' ')})")
    return EXIT_FLAGGED if reconciliation and reconciliation["flagged"] else 0


def times_iso(epoch):
    from pumpwatch import timecalc
    return timecalc.format_iso(int(epoch)) if times.is_instant(epoch) else None


def _older_firmware_advice(session: Session) -> str:
    """A unit on other firmware than this pumpsync's may not know a field the file uses."""
    theirs = printable(str(session.hello.get("firmware")))[:40]
    if theirs == FIRMWARE_VERSION:
        return ""
    return (f" (the unit runs firmware {theirs}, this pumpsync {FIRMWARE_VERSION}: update the unit with "
            "pumpsync deploy, then sync again)")


def _write_settings(session: Session, before_text, text: str):
    try:
        session.client.put_settings(text)
    except UnitError as exc:
        fields = "; ".join(exc.fields) if exc.fields else ""
        if exc.code == protocol.INVALID_SETTINGS:
            session.history.record("sync", session.unit_id, "failed", before_text, text, reason=str(exc),
                                   fields=exc.fields)
            raise CommandFailed(f"the unit refused the settings: {exc} {fields}; the old settings stay in "
                                f"force{_older_firmware_advice(session)}") from None
        if exc.settings_unchanged:
            session.history.record("sync", session.unit_id, "failed", before_text, text, reason=str(exc))
            raise CommandFailed(f"the unit stopped answering during the settings write ({exc}); nothing was "
                                "changed: the old settings stay in force; check the cable and sync again") from None
        session.history.record("sync", session.unit_id, "unknown", before_text, text, reason=str(exc))
        raise CommandFailed(f"the unit stopped answering after the last of the new settings was sent ({exc}): "
                            "the new settings may be on the unit: run pumpsync status, then sync again") from None


def _verify(session: Session, before_text, text: str, jump_ok: bool, clock) -> int:
    try:
        # the unit restarted to apply the settings: a board without a battery-backed clock lost it
        session.client.write("time_set", {"epoch": int(clock()), "jump_ok": jump_ok})
        # read back: the CRC of the text the unit runs, and its stored record checked on flash
        readback_state = session.client.call("settings_get", {"text": False}, verified=True)
        status = session.client.call("status", {"forecast": False}, verified=True)
    except UnitError as exc:
        session.history.record("sync", session.unit_id, "unverified", before_text, text, reason=str(exc))
        raise CommandFailed(f"the unit took the new settings, but reading them back failed ({exc}): the new "
                            "settings may be on the unit: run pumpsync status to check them") from None
    if readback_state.get("crc") != records.crc_of(text) or readback_state.get("intact") is not True:
        # after the write: the unit may run the new settings, a damaged copy or the old ones
        session.history.record("sync", session.unit_id, "unverified", before_text, text, reason="read-back differs")
        raise CommandFailed("the settings read back from the unit differ from what was sent: the unit may run "
                            "the new settings, a damaged copy or the old ones; sync again, then check with "
                            "pumpsync status")
    return status["refill_due_at"]


def reconciliation_of(session: Session, returned_ml: float, flag_pct: float, before) -> dict:
    """The refill check, computed and shown but not yet kept anywhere."""
    status = session.client.call("status", {"forecast": False}, verified=True)
    if before is None:
        raise CommandFailed("the unit has no settings, so there is no expected volume to compare with")
    if status.get("time") is None:
        raise CommandFailed("the unit's clock is lost, so there is no expected volume to compare with: run "
                            "pumpsync time set first")
    # the core forecast of the settings the unit holds, at the unit's time: the unit's own figure, computed
    # here so that the check never depends on the unit having the memory for it
    expected = Forecast(before, int(status["time"])).volume_ul_nominal / 1000
    return sync_checks.reconcile(returned_ml, before.refill_volume_ul / 1000, expected, flag_pct)


def record_reconciliation(session: Session, result: dict):
    """The refill record on the unit's log and in this computer's history."""
    session.client.write("refill", {k: result[k] for k in ("returned_ml", "expected_ml", "discrepancy_pct",
                                                           "flagged")})
    session.history.record("refill", session.unit_id, "flagged" if result["flagged"] else "ok", **result)


def refuse_after_this_visits_sync(session: Session, before):
    """A reconciliation compares with the settings of the last visit: after this visit's sync they are gone.
    This visit's sync is seen on the unit (a refill time within hours) or in the history (a file whose
    refill date was not updated still replaced the old settings)."""
    if before is None:
        return
    unit_time = session.hello.get("time")
    synced_at = session.history.last_at(session.unit_id, "sync", "ok")
    recent_on_unit = isinstance(unit_time, (int, float)) and 0 <= unit_time - before.refill_at < SAME_VISIT_S
    now = unit_time if isinstance(unit_time, (int, float)) else time.time()  # the clock that sync set
    # either side: the unit's whole-second clock may read a second (or a drift) behind this computer's
    recent_here = synced_at is not None and abs(now - synced_at) < SAME_VISIT_S
    if not (recent_on_unit or recent_here):
        return
    session.history.record("refill", session.unit_id, "refused", reason="after this visit's sync")
    when = (f"refilled {session.zone().local(before.refill_at)}" if recent_on_unit
            else f"synced from this computer {session.zone().local(synced_at)}")
    raise CommandFailed(
        f"the unit already has this visit's new settings ({when}), so there is no old expected volume left to "
        "compare with: reconcile BEFORE the sync (pumpsync refill first, or pumpsync sync --returned-ml ML); "
        "note the drained volume in the patient's record", bad_input=True)


def print_reconciliation(result: dict):
    marker = "!!! " if result["flagged"] else ""
    line = (f"{marker}refill check: returned {result['returned_ml']:.3f} mL, expected {result['expected_ml']:.3f} mL "
            f"(delivered {result['discrepancy_pct']:+.1f} % vs programmed, limit {result['flag_pct']:g} %): "
            f"{result['meaning']}")
    print(report.red(line) if result["flagged"] else line)


def cmd_refill(args) -> int:
    check_reconciliation_input(args.returned_ml, args.flag_pct)
    session = Session(args, need_key=True)
    try:
        _, before, _ = session.unit_settings()
        if before is not None:
            check_reconciliation_input(args.returned_ml, args.flag_pct, before.reservoir_ul / 1000)
        refuse_after_this_visits_sync(session, before)
        result = reconciliation_of(session, args.returned_ml, args.flag_pct, before)
        record_reconciliation(session, result)
    finally:
        session.close()
    if args.json:
        print_json(result)
    else:
        print_reconciliation(result)
    return EXIT_FLAGGED if result["flagged"] else 0
