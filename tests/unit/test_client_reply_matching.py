"""The host takes the unit's reply to *its* request: an error the unit sent
with no id (for noise that came earlier) is not the answer to the next
request, unless no reply of ours comes at all."""

from __future__ import annotations

import json
import os
import pty
import threading

from pumpwatch import protocol

from pumpsync.client import UnitClient, UnitError


def _unit_answering(master: int, replies_for):
    """A stand-in unit on the pty's far end: for each request line, the frames `replies_for(id)`."""
    def run():
        pending = b""
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:
                return
            pending += chunk
            while b"\n" in pending:
                line, pending = pending.split(b"\n", 1)
                if not line.startswith(protocol.MAGIC):
                    continue
                request = json.loads(bytes(protocol.decode(line)[2]))
                for frame in replies_for(request["id"]):
                    os.write(master, protocol.encode(frame))
    threading.Thread(target=run, daemon=True).start()


def test_a_late_error_without_an_id_is_not_taken_as_the_reply_to_the_next_request(tmp_path, monkeypatch):
    monkeypatch.setenv("PUMPSYNC_RUNTIME_DIR", str(tmp_path))
    master, slave = pty.openpty()
    _unit_answering(master, lambda rid: [protocol.error(None, protocol.BAD_FRAME, "frame too long"),
                                         protocol.reply(rid, {"unit_id": "0123456789ab", "paired": False})])
    with UnitClient(os.ttyname(slave), timeout=2) as client:
        assert client.call("hello")["unit_id"] == "0123456789ab"


def test_an_error_without_an_id_is_the_answer_when_no_reply_of_ours_comes(tmp_path, monkeypatch):
    monkeypatch.setenv("PUMPSYNC_RUNTIME_DIR", str(tmp_path))
    master, slave = pty.openpty()
    _unit_answering(master, lambda rid: [protocol.error(None, protocol.BAD_FRAME, "frame damaged")])
    with UnitClient(os.ttyname(slave), timeout=1) as client:
        try:
            client.call("hello")
        except UnitError as exc:
            assert exc.code == protocol.BAD_FRAME and "frame damaged" in str(exc)
        else:
            raise AssertionError("the unit's error was not reported")


def test_a_device_whose_answers_lack_fields_or_give_an_impossible_time_gets_one_sentence(tmp_path, monkeypatch,
                                                                                         capsys):
    from pumpsync import cli
    monkeypatch.setenv("PUMPSYNC_RUNTIME_DIR", str(tmp_path))
    master, slave = pty.openpty()
    _unit_answering(master, lambda rid: [protocol.reply(rid, {"unit_id": "0123456789ab", "paired": False,
                                                             "time": 1e308, "firmware": "0.1"})])
    code = cli.main(["status", "--port", os.ttyname(slave), "--keystore", str(tmp_path / "k.json"), "--db",
                     str(tmp_path / "h.sqlite")])
    out = capsys.readouterr()
    assert code == 1 and "Traceback" not in out.err
    assert "not what a PumpWatch unit sends" in out.err and "unexpected KeyError" not in out.err
    code = cli.main(["time", "show", "--port", os.ttyname(slave), "--keystore", str(tmp_path / "k.json"), "--db",
                     str(tmp_path / "h.sqlite")])
    out = capsys.readouterr()
    assert "days ahead" not in out.out + out.err  # 1e308 is no time: the clock reads as lost, nothing else


def test_replies_to_someone_elses_frames_are_said_as_other_traffic_not_relayed_as_our_error(tmp_path, monkeypatch):
    """Review of issue 13: after a flood the unit answered the flood's frames for minutes, and pumpsync
    printed their errors ("frame too long") as if they were the unit's answer to the nurse."""
    monkeypatch.setenv("PUMPSYNC_RUNTIME_DIR", str(tmp_path))
    master, slave = pty.openpty()
    _unit_answering(master, lambda rid: [protocol.error(None, protocol.BAD_FRAME, "frame too long"),
                                         protocol.error(None, protocol.BAD_FRAME, "frame has no CRC"),
                                         protocol.error(rid + 1000, protocol.BAD_FRAME, "for another request")])
    with UnitClient(os.ttyname(slave), timeout=1) as client:
        try:
            client.call("hello")
        except UnitError as exc:
            assert exc.code == "timeout" and "other traffic" in str(exc) and "frame too long" not in str(exc)
            assert "3 replies" in str(exc)
        else:
            raise AssertionError("no error")
