"""Every command, fed the inputs of a tired or hurried hand, answers with one
sentence and exit code 1 or 2: never a traceback (run in-process, so any
exception escaping `main` fails the test)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pumpsync import cli
from pumpsync.deploy import DeployError, check_board
from pumpsync.history import History

EXAMPLE = str(Path(__file__).resolve().parents[2] / "examples" / "simple-continuous.json")
NO_UNIT = "/dev/null"  # opens, but no unit answers (and it is not a serial port)


def _files(tmp_path: Path) -> dict:
    list_keystore = tmp_path / "list.json"
    list_keystore.write_text("[]")
    odd_keystore = tmp_path / "odd.json"
    odd_keystore.write_text(json.dumps({"units": {"abcdefabcdef": []}}))
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 20_000)
    huge = tmp_path / "huge.json"
    huge.write_text("{" + " " * 100_000 + "}")
    garbage_keystore = tmp_path / "garbage.json"
    garbage_keystore.write_text("garbage")
    return {"{list_keystore}": str(list_keystore), "{odd_keystore}": str(odd_keystore), "{deep}": str(deep),
            "{huge}": str(huge), "{garbage_keystore}": str(garbage_keystore),
            "{db}": str(tmp_path / "h.sqlite"), "{history}": _history(tmp_path), "{missing_db}": str(tmp_path / "nowhere" / "h.sqlite"),
            "{folder}": str(tmp_path), "{csv}": str(tmp_path / "out.csv"), "{a_file}": str(list_keystore)}


def _history(tmp_path) -> str:
    path = str(tmp_path / "history.sqlite")
    History(path).close()
    return path


CASES = [
    (["status", "--port", NO_UNIT, "--timeout", "-1"], 2, "--timeout"),
    (["status", "--port", NO_UNIT, "--timeout", "nan"], 2, "--timeout"),
    (["status", "--port", NO_UNIT, "--timeout", "1e308"], 2, "--timeout"),
    (["status", "--port", NO_UNIT, "--keystore", "{list_keystore}"], 1, "not a pumpsync keystore"),
    (["status", "--port", NO_UNIT, "--keystore", "{folder}"], 1, "keystore"),
    (["status", "--port", NO_UNIT, "--db", "{missing_db}"], 2, "--db"),
    (["status", "--port", NO_UNIT, "--db", "{folder}"], 2, "--db"),
    (["status", "--port", "/dev/no-such-port", "--db", "{db}"], 1, "no-such-port"),
    (["status", "--port", NO_UNIT, "--db", "{db}"], 1, "/dev/null"),
    (["log", "--port", NO_UNIT, "--db", "{db}", "--since", "yesterday"], 1, ""),
    (["forecast", EXAMPLE, "--at", "99999-01-01T00:00:00Z"], 2, "--at"),
    (["forecast", EXAMPLE, "--at", "2026-13-45T00:00:00Z"], 2, "--at"),
    (["forecast", "/no/such/file.json"], 2, "file.json"),
    (["forecast", "{folder}"], 2, ""),
    (["forecast", "{deep}"], 2, "deep.json: not valid JSON (nested too deeply"),
    (["sync", "{deep}", "--port", NO_UNIT], 2, "deep.json: not valid JSON (nested too deeply"),
    (["forecast", "{huge}"], 2, "huge.json: too large"),
    (["log", "--csv", "{folder}", "--force", "--port", NO_UNIT], 2, "is a folder"),
    (["status", "--port", NO_UNIT, "--keystore", "{garbage_keystore}", "--db", "{db}"], 1, "not a pumpsync keystore"),
    (["sync", EXAMPLE, "--returned-ml", "1e308", "--port", NO_UNIT], 2, "--returned-ml"),
    (["sync", EXAMPLE, "--returned-ml", "-0", "--port", NO_UNIT], 2, "--returned-ml"),
    (["sync", EXAMPLE, "--returned-ml", "inf", "--port", NO_UNIT], 2, "--returned-ml"),
    (["sync", EXAMPLE, "--flag-pct", "nan", "--port", NO_UNIT], 2, "--flag-pct"),
    (["refill", "--returned-ml", "1e-400", "--port", NO_UNIT], 2, "--returned-ml"),
    (["refill", "--returned-ml", "5", "--flag-pct", "-3", "--port", NO_UNIT], 2, "--flag-pct"),
    (["maintenance", "--minutes", "99999999999999999999", "--port", NO_UNIT], 2, "--minutes"),
    (["maintenance", "--minutes", "0", "--port", NO_UNIT], 2, "--minutes"),
    (["alarm", "test", "--pause", "inf", "--port", NO_UNIT], 2, "--pause"),
    (["alarm", "test", "--pause", "nan", "--port", NO_UNIT], 2, "--pause"),
    (["alarm", "preview", "--wav", "/proc/no/such/folder"], 1, ""),
    (["history", "--db", "{missing_db}"], 2, "--db"),
    (["history", "--db", "{folder}"], 2, "--db"),
    (["history", "--db", "{db}", "--unit", "nobody"], 2, "no records of unit nobody"),
    (["history", "--db", "mysql://clinic@db/pumpsync"], 2, "PostgreSQL"),
    (["history", "--db", "postgresql://nurse:secret@/pumpsync?host=/no/such/socket&port=1"], 1, "cannot be read"),
    (["status", "--port", NO_UNIT, "--db", "sqlite:///{folder}/nowhere/h.sqlite"], 2, "--db"),
    (["board", "--db", "{missing_db}"], 2, "--db"),
    (["board", "--db", "{db}", "--listen", "8080"], 2, "HOST:PORT"),
    (["board", "--db", "{db}", "--listen", "localhost:0"], 2, "HOST:PORT"),
    (["board", "--db", "{db}"], 2, "does not exist"),
    (["board", "--db", "{history}", "--listen", "no-such-host.invalid:8080"], 1, "--listen"),
    (["keys", "revoke", "someone", "--port", NO_UNIT, "--keystore", "{odd_keystore}", "--db", "{db}"], 1, ""),
    (["time", "set", "--port", NO_UNIT, "--timeout", "0"], 2, "--timeout"),
    (["--timeout", "-5", "status", "--port", NO_UNIT], 2, "--timeout"),
    (["handout", "/no/such/file.json", "--out", "{folder}/h"], 2, "file.json"),
    (["handout", EXAMPLE, "--out", "{a_file}"], 2, "--out"),
    (["handout", EXAMPLE, "--out", "{folder}/h", "--at", "tomorrow"], 2, "--at"),
    (["handout", EXAMPLE, "--out", "{folder}/h", "--at", "2020-01-01T00:00:00Z"], 2, "refill.at"),
    (["handout", EXAMPLE, "--out", "/proc/no/such/folder"], 1, "/proc/no/such/folder"),
    (["handout", "--out", "{folder}/h", "--port", NO_UNIT, "--db", "{db}"], 1, "/dev/null"),
    (["handout", "--out", "{folder}/h", "--port", NO_UNIT, "--timeout", "nan"], 2, "--timeout"),
]


@pytest.mark.parametrize("argv, code, names", CASES, ids=[" ".join(c[0])[:60] for c in CASES])
def test_a_bad_input_gets_one_sentence_and_an_exit_code(argv, code, names, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PUMPSYNC_RUNTIME_DIR", str(tmp_path / "run"))
    files = _files(tmp_path)
    argv = [files.get(a, a).replace("{folder}", str(tmp_path)) for a in argv]
    result = cli.main(argv)
    out = capsys.readouterr()
    assert result == code, out.err
    assert "Traceback" not in out.err + out.out
    assert out.err.strip(), "a failure always says why"
    assert names in out.err


def test_argparse_mistakes_are_exit_2_with_usage(capsys):
    with pytest.raises(SystemExit) as stopped:
        cli.main(["status", "--timeout", "soon"])
    assert stopped.value.code == 2 and "--timeout" in capsys.readouterr().err


def test_every_option_says_what_it_does_and_its_default():
    parser = cli.build_parser()
    missing = []

    def walk(p, path):
        for action in p._actions:
            if action.option_strings and action.dest not in ("help", "version"):
                text = action.help or ""
                has_default = "default" in text or action.required or "required" in text or \
                    action.const is True or action.nargs == 0
                if not text or not has_default:
                    missing.append(f"{path} {action.option_strings[0]}")
            if hasattr(action, "choices") and isinstance(action.choices, dict):
                for name, sub in action.choices.items():
                    walk(sub, f"{path} {name}")

    walk(parser, "pumpsync")
    assert not missing, missing


def test_help_lists_the_commands_in_the_order_of_a_visit():
    text = cli.build_parser().format_help()
    # the refill check compares with the last visit's settings: it comes before the sync (README's steps)
    order = ["ports", "pair", "status", "time", "forecast", "refill", "sync", "handout", "alarm", "log", "history"]
    positions = [text.index(f"    {name} ") for name in order]
    assert positions == sorted(positions)
    assert "(" + ", ".join(order) + ")" in " ".join(text.split())  # the description names the same order


def test_deploy_refuses_a_build_for_another_board_than_the_unit_reports():
    with pytest.raises(DeployError, match="reports board 'pico-w'.*--board pico-w"):
        check_board("esp32", "pico-w")
    check_board("rp2", "pico")
    check_board("rp2", "emulator")  # the emulated unit takes any board's build


def test_a_settings_file_that_never_ends_is_refused_at_once(tmp_path):
    """/dev/zero (or a FIFO, a huge file) as the settings file: the unit takes at most 16 KiB, so no more is read."""
    import subprocess
    import sys
    result = subprocess.run([sys.executable, "-m", "pumpsync", "forecast", "/dev/zero"], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 2 and "too large" in result.stderr and "Traceback" not in result.stderr


def test_a_volume_with_a_decimal_comma_is_read_as_a_nurse_means_it():
    assert cli.decimal_number("1,8") == 1.8 and cli.decimal_number(" 12.5 ") == 12.5
    import argparse
    for bad in ("1,8,0", "1.000,5", "ten"):
        with pytest.raises(argparse.ArgumentTypeError):
            cli.decimal_number(bad)


def test_a_first_install_checks_the_chip_micropython_names_against_the_board():
    """The audit: onto plain MicroPython (no PumpWatch to say its board) any board's build was copied."""
    from pumpsync.deploy import check_machine
    check_machine("rp2", "Raspberry Pi Pico with RP2040")
    check_machine("pico-w", "Raspberry Pi Pico W with RP2040")
    check_machine("esp32", "Generic ESP32 module with ESP32")
    check_machine("rp2", "linux [GCC 12.2.0] version")  # an emulated unit: no chip to check
    for board, machine in (("esp32", "Raspberry Pi Pico with RP2040"), ("rp2", "Generic ESP32 module with ESP32"),
                           ("rp2", "Raspberry Pi Pico W with RP2040"), ("pico-w", "Raspberry Pi Pico with RP2040")):
        with pytest.raises(DeployError, match="nothing was changed"):
            check_machine(board, machine)
