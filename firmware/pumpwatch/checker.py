"""Checking one field of a settings file at a time, with errors that name it.

Owns the field checks every part of the settings check uses (an object with
known fields, a number in range converted to fixed point, a whole number,
text, an ISO instant, HH:MM, a bounded list) and how values are described in
an error ("field.path: what is wrong").  Numbers are range-checked before
and after scaling, so 1e306 or a rate that rounds to zero never reaches the
arithmetic.
"""

from pumpwatch import timecalc


class Checker:
    def __init__(self, fields):
        self.fields = fields  # {kind: ((name, required), ...)}
        self.errors = []
        self.warnings = []

    def error(self, path, message):
        self.errors.append("%s: %s" % (path or "settings", message))

    def section(self, doc, path, kind):
        """Check `doc` is an object with the fields of `kind`; return it or None."""
        if not isinstance(doc, dict):
            self.error(path, "must be an object, not %s" % describe(doc))
            return None
        known = self.fields[kind]
        for name in sorted(doc):
            if not [1 for field, _ in known if field == name]:
                self.error(join(path, name), "unknown field")
        for name, required in known:
            if required and name not in doc:
                self.error(join(path, name), "missing")
        return doc

    def number(self, doc, path, name, scale, minimum=None, above=None, maximum=None):
        """Fixed-point integer (value * scale) of a numeric field, or None."""
        value = doc.get(name)
        where = join(path, name)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.error(where, "must be a number, not %s" % describe(value))
            return None
        if value != value or value in (float("inf"), float("-inf")):
            self.error(where, "must be a finite number")
            return None
        if above is not None and not value > above:
            self.error(where, "must be greater than %s (got %s)" % (num(above), num(value)))
            return None
        if minimum is not None and value < minimum:
            self.error(where, "must be at least %s (got %s)" % (num(minimum), num(value)))
            return None
        if maximum is not None and value > maximum:
            self.error(where, "must be at most %s (got %s)" % (num(maximum), num(value)))
            return None
        scaled = value * scale if isinstance(value, int) else int(round(value * scale))
        if above is not None and scaled <= above * scale:
            self.error(where, "%s rounds to %s at the unit's precision (%s)" % (num(value), num(above),
                                                                               num(1 / scale)))
            return None
        return scaled

    def integer(self, doc, path, name, minimum, maximum):
        if doc.get(name) is None:
            return None
        return self.whole(doc[name], join(path, name), minimum, maximum)

    def whole(self, value, where, minimum, maximum):
        if isinstance(value, float) and abs(value) < 1e15 and value == int(value):
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            self.error(where, "must be a whole number, not %s" % describe(value))
            return None
        if value < minimum or value > maximum:
            self.error(where, "must be between %d and %d (got %d)" % (minimum, maximum, value))
            return None
        return value

    def text(self, doc, path, name):
        value = doc.get(name)
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip():
            self.error(join(path, name), "must be non-empty text, not %s" % describe(value))
            return None
        return value

    def flag(self, doc, path, name):
        """True/False of an optional yes-or-no field (False when absent)."""
        value = doc.get(name, False)
        if not isinstance(value, bool):
            self.error(join(path, name), "must be true or false, not %s" % describe(value))
            return False
        return value

    def instant(self, doc, path, name):
        return self._parsed(doc, path, name, timecalc.parse_iso, "%s is not an ISO 8601 time with Z or an "
                            "offset (e.g. 2026-11-20T10:30:00Z)")

    def date(self, doc, path, name):
        return self._parsed(doc, path, name, timecalc.parse_date, "%s is not a date YYYY-MM-DD")

    def time_of_day(self, doc, path, name):
        return self._parsed(doc, path, name, timecalc.parse_hhmm, "%s is not HH:MM")

    def _parsed(self, doc, path, name, parse, message):
        """parse(value) of a field (None when absent or not parseable, with an error then)."""
        value = doc.get(name)
        if value is None:
            return None
        parsed = parse(value)
        if parsed is None:
            self.error(join(path, name), message % describe(value))
        return parsed

    def array(self, doc, path, name, most):
        value = doc.get(name)
        if value is None:
            return None
        if not isinstance(value, list):
            self.error(join(path, name), "must be a list, not %s" % describe(value))
            return None
        if len(value) > most:
            self.error(join(path, name), "at most %d entries (got %d)" % (most, len(value)))
            return None
        return value


def join(path, name):
    return path + "." + name if path else name


def num(value):
    if isinstance(value, float) and value == int(value):
        return str(int(value))
    return str(value)


def describe(value):
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"%s"' % value
    if isinstance(value, (int, float)):
        return num(value)
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return "a value of another kind"


def mcg(ng):
    """Text of a dose in mcg from ng, at most 3 decimals."""
    whole, rest = divmod(ng, 1000)
    if rest == 0:
        return str(whole)
    return ("%d.%03d" % (whole, rest)).rstrip("0")
