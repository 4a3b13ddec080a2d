"""The computers a unit trusts: named keys, and adding one only by a press.

Owns data/keys.rec {"keys": [{"name": text, "key": hex}]}: at most MAX_KEYS
named keys (a clinic's several computers), read at boot of the service and
rewritten only when one is added or removed; firmware 0.1's single
data/key.rec is taken over as "first computer".  A new key is held in RAM as
*pending* until a long press on the unit that begins after the pairing
chirp (button.Request); an unpaired unit takes one from anyone at the port
(`pair`), a paired one only from a computer it already trusts (`key_add`).
"""

from pumpwatch import records

try:
    from micropython import const  # type: ignore  # the stand-in below differs in signature only
except ImportError:  # CPython
    def const(x):  # CPython stand-in for the compiler built-in
        return x

MAX_KEYS = const(4)
MAX_NAME = const(32)
_NAME_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ._-"


def check_name(name):
    """The error for a key name, or None: 1-32 letters, digits, space . _ -."""
    if not isinstance(name, str) or not 1 <= len(name) <= MAX_NAME:
        return "name: 1 to %d characters" % MAX_NAME
    for ch in name:
        if ch not in _NAME_CHARS:
            return "name: only letters, digits, space, '.', '_' and '-'"
    return None


def parse_key(text):
    """32 key bytes from 64 hex digits; ValueError otherwise."""
    if not isinstance(text, str) or len(text) != 64:
        raise ValueError("key: 64 hex digits (32 bytes)")
    try:
        return bytes(int(text[i:i + 2], 16) for i in range(0, 64, 2))
    except ValueError:
        raise ValueError("key: 64 hex digits (32 bytes)")


class Keys:
    def __init__(self, data_dir):
        self.path = data_dir + "/keys.rec"
        self.legacy_path = data_dir + "/key.rec"
        self.entries = []  # [(name, key bytes)]
        self._load()

    def _load(self):
        from pumpwatch import readback  # dropped again by the service (RAM)
        try:
            stored = readback.read_record(self.path)
        except readback.CorruptRecord:
            stored = None  # unpaired: a press on the unit is needed to pair again
        if stored is None:
            try:
                legacy = readback.read_record(self.legacy_path)
            except readback.CorruptRecord:
                legacy = None
            if legacy is not None:
                self.entries = [("first computer", parse_key(legacy["key"]))]
            return
        for item in stored.get("keys", ()):
            try:
                self.entries.append((item["name"], parse_key(item["key"])))
            except (KeyError, TypeError, ValueError):
                pass

    def _save(self):
        records.write_record(self.path, {"keys": [{"name": n, "key": to_hex(k)} for n, k in self.entries]})
        records.remove(self.legacy_path)

    def paired(self):
        return bool(self.entries)

    def names(self):
        return [name for name, _ in self.entries]

    def key_named(self, name):
        for entry_name, key in self.entries:
            if entry_name == name:
                return key
        return None

    def add(self, name, key):
        self.entries = [e for e in self.entries if e[0] != name]
        self.entries.append((name, key))
        self._save()

    def remove(self, name):
        before = len(self.entries)
        self.entries = [e for e in self.entries if e[0] != name]
        if len(self.entries) != before:
            self._save()
            return True
        return False


def to_hex(data):
    return "".join("%02x" % b for b in data)
