"""Calendar arithmetic on integer epoch seconds (UTC, Unix epoch).

The device has no `datetime` or tz database, so the core keeps every instant
as whole seconds since 1970-01-01T00:00:00Z and every local time as that plus
an offset in seconds.  This module owns the conversions: ISO 8601 text <->
epoch seconds, local "HH:MM" <-> seconds of the day, and civil dates.
Dates use the proleptic Gregorian calendar (Howard Hinnant's algorithms).
"""

try:
    from micropython import const  # type: ignore  # the stand-in below differs in signature only
except ImportError:  # CPython
    def const(x):  # CPython stand-in for the compiler built-in
        return x

SECONDS_PER_DAY = const(86400)


def days_from_civil(year, month, day):
    """Days since 1970-01-01 of a Gregorian date."""
    year -= month <= 2
    era = (year if year >= 0 else year - 399) // 400
    yoe = year - era * 400
    doy = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def civil_from_days(days):
    """(year, month, day) of a day count since 1970-01-01."""
    days += 719468
    era = (days if days >= 0 else days - 146096) // 146097
    doe = days - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = mp + (3 if mp < 10 else -9)
    return (yoe + era * 400 + (month <= 2), month, day)


def _days_in_month(year, month):
    if month == 12:
        return 31
    return days_from_civil(year, month + 1, 1) - days_from_civil(year, month, 1)


def _digits(text, start, count):
    """Integer from `count` ASCII digits at `start`, or None."""
    part = text[start:start + count]
    if len(part) != count:
        return None
    for ch in part:
        if ch < "0" or ch > "9":
            return None
    return int(part)


def parse_iso(text):
    """Epoch seconds of 'YYYY-MM-DDTHH:MM[:SS[.fff]](Z|+HH:MM|-HH:MM)'.

    Returns None when the text is not such a time.  A time without a zone is
    refused: the unit cannot guess which local time a nurse meant.
    Fractions of a second are truncated.
    """
    if not isinstance(text, str) or len(text) < 17:
        return None
    year = _digits(text, 0, 4)
    month = _digits(text, 5, 2)
    day = _digits(text, 8, 2)
    hour = _digits(text, 11, 2)
    minute = _digits(text, 14, 2)
    if year is None or month is None or day is None or hour is None or minute is None:
        return None
    if text[4] != "-" or text[7] != "-" or text[10] not in "Tt " or text[13] != ":":
        return None
    pos = 16
    second = 0
    if pos < len(text) and text[pos] == ":":
        parsed = _digits(text, pos + 1, 2)
        if parsed is None:
            return None
        second = parsed
        pos += 3
        if pos < len(text) and text[pos] in ".,":
            pos += 1
            start = pos
            while pos < len(text) and "0" <= text[pos] <= "9":
                pos += 1
            if pos == start:
                return None
    zone = text[pos:]
    if zone in ("Z", "z"):
        offset = 0
    elif len(zone) == 6 and zone[0] in "+-" and zone[3] == ":":
        oh = _digits(zone, 1, 2)
        om = _digits(zone, 4, 2)
        if oh is None or om is None or oh > 23 or om > 59:
            return None
        offset = (oh * 60 + om) * 60
        if zone[0] == "-":
            offset = -offset
    else:
        return None
    if not (1 <= month <= 12) or day < 1 or day > _days_in_month(year, month):
        return None
    if hour > 23 or minute > 59 or second > 59:
        return None
    local = days_from_civil(year, month, day) * SECONDS_PER_DAY + hour * 3600 + minute * 60 + second
    return local - offset


def format_iso(epoch):
    """'YYYY-MM-DDTHH:MM:SSZ' of epoch seconds."""
    days, rem = divmod(int(epoch), SECONDS_PER_DAY)
    y, m, d = civil_from_days(days)
    return "%04d-%02d-%02dT%02d:%02d:%02dZ" % (y, m, d, rem // 3600, rem // 60 % 60, rem % 60)


def format_iso_or_none(epoch):
    """format_iso, or None for an instant a forecast never reaches."""
    return None if epoch is None else format_iso(epoch)


def format_local(epoch, offset_s):
    """'YYYY-MM-DD HH:MM' of an instant seen at a UTC offset (seconds)."""
    days, rem = divmod(int(epoch) + offset_s, SECONDS_PER_DAY)
    y, m, d = civil_from_days(days)
    return "%04d-%02d-%02d %02d:%02d" % (y, m, d, rem // 3600, rem // 60 % 60)


def parse_date(text):
    """Days since 1970-01-01 of a calendar date 'YYYY-MM-DD', or None."""
    if not isinstance(text, str) or len(text) != 10 or text[4] != "-" or text[7] != "-":
        return None
    year, month, day = _digits(text, 0, 4), _digits(text, 5, 2), _digits(text, 8, 2)
    if year is None or month is None or day is None or not 1 <= month <= 12:
        return None
    if day < 1 or day > _days_in_month(year, month):
        return None
    return days_from_civil(year, month, day)


def format_date(days):
    """'YYYY-MM-DD' of days since 1970-01-01."""
    return "%04d-%02d-%02d" % civil_from_days(days)


def format_hhmm(seconds):
    """'HH:MM' of seconds after local midnight."""
    return "%02d:%02d" % (seconds // 3600, seconds // 60 % 60)


def parse_hhmm(text):
    """Seconds after local midnight of 'HH:MM' (00:00..23:59), or None."""
    if not isinstance(text, str) or len(text) != 5 or text[2] != ":":
        return None
    hour = _digits(text, 0, 2)
    minute = _digits(text, 3, 2)
    if hour is None or minute is None or hour > 23 or minute > 59:
        return None
    return hour * 3600 + minute * 60
