"""A clinic's PostgreSQL password is never printed: not in the userinfo, not as libpq's `password=`
(or `sslpassword=`) parameter, not in the driver's own error text, and a password holding a raw '@'
(which would split the URL in the wrong place) is refused before anything connects."""

from __future__ import annotations

import subprocess
import sys

import pytest

from pumpsync.history import History, HistoryPathError

SECRET = "S3cretPW"


@pytest.mark.parametrize("url", [
    f"postgresql://pumpsync@/review?host=/nonexistent-pg-socket&password={SECRET}",
    f"postgresql://pumpsync@/review?host=/nonexistent-pg-socket&sslpassword={SECRET}&sslmode=disable",
    f"postgresql://pumpsync:{SECRET}@/review?host=/nonexistent-pg-socket",
])
def test_no_form_of_the_password_reaches_what_the_nurse_sees(url):
    history = History(url)
    assert history.problem is not None
    assert SECRET not in str(history.path) and SECRET not in history.problem
    warned = []
    history.warn = warned.append
    assert history.record("sync", "0badc0ffee01", "ok") is False
    assert warned and not any(SECRET in w for w in warned)
    result = subprocess.run([sys.executable, "-m", "pumpsync", "history", "--db", url], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode != 0 and SECRET not in result.stdout + result.stderr


def test_a_raw_at_sign_in_the_password_is_refused_with_how_to_write_it():
    with pytest.raises(HistoryPathError, match="%40") as raised:
        History("postgresql://pumpsync:S3cr@etPW@127.0.0.1:1/review")
    assert "S3cr" not in str(raised.value) and "etPW" not in str(raised.value)


def test_a_port_that_is_not_a_number_is_a_bad_url_not_an_unexpected_error():
    with pytest.raises(HistoryPathError, match="not a database URL") as raised:
        History(f"postgres://u:{SECRET}@host:notaport/db")
    assert SECRET not in str(raised.value)


def test_a_libpq_connection_string_is_refused_not_taken_for_a_file_name(tmp_path, monkeypatch):
    """Re-review N4: 'host=... password=... dbname=...' became a SQLite file named after it, and the
    password was printed; history then went to that file instead of the clinic's database."""
    monkeypatch.chdir(tmp_path)
    text = f"host=db.clinic password={SECRET} dbname=pumpsync"
    with pytest.raises(HistoryPathError, match="postgresql://") as raised:
        History(text)
    assert SECRET not in str(raised.value) and not list(tmp_path.iterdir())


def test_the_password_parameter_is_hidden_whatever_its_case():
    history = History(f"postgresql://pumpsync@/review?host=/nonexistent-pg-socket&PASSWORD={SECRET}")
    assert SECRET not in str(history.path) and SECRET not in (history.problem or "")
