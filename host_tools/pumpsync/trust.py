"""Which computers a unit trusts: pair, keys list/add/revoke, unpair.

Owns the pairing walk-through (a new key the unit keeps only after a long
press on it, beginning after its trill) and the key list commands.  A paired
unit takes a new key only from a computer it already trusts; the keys live
in keystore.py's file, the unit's side in firmware/pumpwatch/keys.py.
"""

from __future__ import annotations

import time

from pumpsync.client import UnitClient, printable
from pumpsync.keystore import Keystore
from pumpsync.session import CommandFailed, Session, ask
from pumpsync.terminal import progress

PAIR_WAIT_S = 30


def cmd_pair(args) -> int:
    session = Session(args)
    try:
        return pair_unit(session, name=args.name)
    finally:
        session.close()


def _wait_for_press(session: Session, started: dict, key: bytes, on_fail):
    """Until the unit says paired; on any way out but that (no press, Ctrl-C, an error) the request
    is cancelled on the unit, so that a later press cannot give it a key this computer never kept."""
    print(f"Unit {session.unit_id}: after the trill, press and HOLD the unit's button for 2 seconds "
          f"(within {PAIR_WAIT_S} s)...", flush=True)
    began = time.monotonic()
    limit = PAIR_WAIT_S + 2 + started.get("press_after_ms", 0) / 1000
    try:
        with progress("waiting for the long press", total=PAIR_WAIT_S, unit="s") as shown:
            while True:
                state = session.client.call("pair_status")["state"]
                if state == "paired":
                    return
                if state in ("expired", "none") or time.monotonic() - began > limit:
                    on_fail()
                    raise CommandFailed("no long press on the unit within 30 s: pairing cancelled, nothing "
                                        "changed")
                waited = time.monotonic() - began
                shown.update(waited, description=f"waiting for the long press: {max(0, PAIR_WAIT_S - waited):.0f} "
                                                 "s left")
                time.sleep(0.2)
    except BaseException:
        _cancel(session, key)
        raise


def _cancel(session: Session, key: bytes):
    try:
        session.client.call("pair_cancel", {"key": key.hex()}, timeout=2)
    except Exception:  # noqa: BLE001 - a unit that is gone keeps nothing either: its window closes by itself
        pass


def _check_keystore_writable(session: Session):
    """Before the unit takes a key: a key file that cannot be written would strand the key on the unit."""
    try:
        session.keystore.check_writable()
    except OSError as exc:
        raise CommandFailed(f"the key file cannot be written ({exc}): nothing was sent to the unit; fix its "
                            "permissions or give another --keystore") from None


def pair_unit(session: Session, while_waiting=None, name: str | None = None) -> int:
    """Pair: a new key, kept by the unit only after a long press there that starts
    after its pairing chirp.  A paired unit takes a new key only from a computer it
    already trusts (this one re-pairing), never from a stranger.
    `while_waiting()` is called once the unit waits (a simulation presses then)."""
    key = Keystore.new_key()
    name = name or session.client.key_name or Keystore.default_name()
    _check_keystore_writable(session)
    if session.hello.get("paired"):
        if session.client.key is None:
            session.history.record("pair", session.unit_id, "refused", reason="already paired elsewhere")
            raise CommandFailed(f"unit {session.unit_id} is already paired with another computer: add this one "
                                "from there (pumpsync keys add NAME --to THIS-COMPUTERS-KEYSTORE), or "
                                "factory-reset the unit on the unit itself (hold the button 10 s, then 10 s again "
                                "after the two low tones)")
        started = session.client.write("key_add", {"key": key.hex(), "name": name})
    else:
        started = session.client.call("pair", {"key": key.hex(), "name": name})
    if while_waiting is not None:
        while_waiting()
    _wait_for_press(session, started, key,
                    lambda: session.history.record("pair", session.unit_id, "failed", reason="no long press"))
    session.client.key, session.client.key_name = key, name
    session.client.call("keys", verified=True)  # proves the unit stored *our* key
    session.keystore.store(session.unit_id, key, name)
    session.history.record("pair", session.unit_id, "ok", port=session.port, name=name)
    print(f"Paired: this computer ({printable(name)}) may now change unit {session.unit_id} "
          f"(key in {session.keystore.path})")
    return 0


def cmd_keys_list(args) -> int:
    session = Session(args)
    try:
        names = session.client.call("keys", verified=True)["names"]
    finally:
        session.close()
    mine = session.client.key_name
    if not names:
        print(f"unit {session.unit_id} trusts no computer (it can be paired: pumpsync pair)")
    for name in names:
        print(f"{printable(name)}{'   (this computer)' if name == mine else ''}")
    return 0


def cmd_keys_add(args) -> int:
    """Another computer of the clinic: a new key the unit keeps after a press on it,
    written into that computer's keystore file (carry it over, then delete it here)."""
    session = Session(args, need_key=True)
    try:
        key = Keystore.new_key()
        known = session.client.call("keys", verified=True)["names"]
        if args.name in known:
            raise CommandFailed(f"unit {session.unit_id} already trusts a computer called {printable(args.name)}: "
                                "a new key under that name would replace its key and lock it out; choose another "
                                "name (pumpsync keys list shows the names in use)", bad_input=True)
        try:
            Keystore(args.to).check_writable()
        except OSError as exc:
            raise CommandFailed(f"--to: {exc}; nothing was sent to the unit", bad_input=True) from None
        started = session.client.write("key_add", {"key": key.hex(), "name": args.name})
        _wait_for_press(session, started, key, lambda: None)
        with UnitClient(session.port, key=key, key_name=args.name, timeout=args.timeout) as other:
            other.call("keys", verified=True)  # the unit holds the new key
        Keystore(args.to).store(session.unit_id, key, args.name)
        session.history.record("key_add", session.unit_id, "ok", name=args.name)
    finally:
        session.close()
    print(f"unit {session.unit_id} now trusts {printable(args.name)}; its key is in {args.to}: use that file as "
          "that computer's --keystore (or merge it there), then delete this copy")
    return 0


def _revoke(session: Session, name: str, question: str, assume_yes: bool) -> list:
    """Remove a named key from the unit, after the nurse's yes; the unit's remaining names."""
    known = session.client.call("keys", verified=True)["names"]
    if name not in known:
        raise CommandFailed(f"unit {session.unit_id} has no key called {printable(name)}; it trusts: "
                            f"{printable(', '.join(known)) or 'no computer'}", bad_input=True)
    if not ask(question, assume_yes):
        print("nothing was changed")
        raise CommandFailed("declined: the unit still trusts " + printable(name))
    result = session.client.write("key_remove", {"name": name})
    session.history.record("key_remove", session.unit_id, "ok", name=name)
    if name == session.client.key_name:
        session.keystore.forget(session.unit_id)
    return result["names"]


def cmd_keys_remove(args) -> int:
    session = Session(args, need_key=True)
    try:
        mine = " (THIS computer: it could then no longer change the unit)" if args.name == session.client.key_name \
            else ""
        names = _revoke(session, args.name, f"Unit {session.unit_id} will no longer trust {printable(args.name)}"
                        f"{mine}. Revoke?", args.yes)
    finally:
        session.close()
    print(f"unit {session.unit_id} no longer trusts {printable(args.name)}; it trusts: "
          f"{printable(', '.join(names)) or 'no computer (it can be paired again)'}")
    return 0


def cmd_unpair(args) -> int:
    """This computer gives up its own key on the unit (and forgets it here), in one session:
    no other pumpsync can take the port between the two steps."""
    session = Session(args, need_key=True)
    try:
        name = session.client.key_name or ""
        names = _revoke(session, name, f"This computer ({printable(name)}) will no longer be able to change unit "
                        f"{session.unit_id} (pairing again needs a long press on the unit). Unpair?", args.yes)
        if session.keystore.key_for(session.unit_id) is not None:
            raise CommandFailed(f"unit {session.unit_id} no longer trusts this computer, but its key is still in "
                                f"{session.keystore.path}: remove it there")
    finally:
        session.close()
    print(f"this computer ({printable(name)}) is no longer paired with unit {session.unit_id}; the unit trusts: "
          f"{printable(', '.join(names)) or 'no computer (it can be paired again with a long press)'}")
    return 0
