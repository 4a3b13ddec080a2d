"""What each open read of the sync protocol does on the unit (docs/protocol.md).

Owns the reads (hello, status, nonce, pairing, settings, the logs, the key
names), starting a pairing, and the names of the authenticated writes, whose
code (writes.py) is loaded only for a write and dropped after it: RAM on a
board is scarce.  Each is a function (service, args) -> result dict;
ValueError names the bad argument.  Who may call which is service.py's.
"""

from pumpwatch import VERSION, button, keys, protocol, records, sounds

try:
    from micropython import const  # type: ignore  # the stand-in below differs in signature only
except ImportError:  # CPython
    def const(x):  # CPython stand-in for the compiler built-in
        return x

PAIRING_WINDOW_MS = const(30000)
LOG_PAGE_BYTES = const(2048)  # the page's lines are held in RAM while its reply is streamed


def load_unit_id(service):
    from pumpwatch import readback
    path = service.unit.data_dir + "/unit.rec"
    try:
        ident = readback.read_record(path)
    except readback.CorruptRecord:
        ident = None
    if ident is None:
        ident = {"unit_id": keys.to_hex(service.hal.random_bytes(6))}
        if not records.try_write_record(path, ident):
            service.unit.storage_failed = True  # a full flash: this id holds until the next boot
    return ident["unit_id"]


# ---------------------------------------------------------------------- open reads
def hello(service, args):
    request = service.unit.request
    return {"firmware": VERSION, "protocol": protocol.VERSION, "board": service.hal.board,
            "unit_id": service.unit_id, "paired": service.keys.paired(), "time": service.unit.now_s(),
            "pairing": request is not None and request.what == "pair" and request.open()}


def status(service, args):
    """`forecast: false` leaves the unit's own forecast out (the heavy part: a sync needs only the due date)."""
    from pumpwatch import status as status_module
    result = status_module.of(service.unit, service.unit_id, args.get("forecast", True) is not False)
    result["mem_free_min"] = service.mem_free_min
    return result


def nonce(service, args):
    value = keys.to_hex(service.hal.random_bytes(16))
    service.nonce = (value, service.hal.ticks_ms())
    return {"nonce": value, "lifetime_s": 60}


def pair(service, args):
    """An unpaired unit takes a first key from the port, confirmed by a press."""
    if service.keys.paired():
        return {"_error": (protocol.UNAUTHORISED, "the unit is already paired: add a computer with key_add "
                           "from a paired one, or factory-reset the unit on the unit itself", None)}
    return start_pairing(service, args)


def pair_status(service, args):
    request = service.unit.request
    if service.paired_name is not None and service.pending_key is None:
        return {"state": "paired", "name": service.paired_name, "unit_id": service.unit_id}
    if request is not None and request.what == "pair" and request.open():
        return {"state": "waiting"}
    if service.pending_key is not None:
        service.pending_key = None  # an abandoned request can never be confirmed later
        return {"state": "expired"}
    return {"state": "none"}


def pair_cancel(service, args):
    """The computer that asked gives up its pairing (Ctrl-C, a timeout on its side): a press
    afterwards confirms nothing.  The key it sent is the proof that it asked (it already crossed
    the cable in the request), so nobody else can cancel a nurse's pairing."""
    pending = service.pending_key
    if pending is None or not protocol.same(keys.parse_key(args.get("key")), pending[1]):
        return {"state": "none"}
    service.pending_key = None
    request = service.unit.request
    if request is not None and request.what == "pair":
        service.unit.request = None
    return {"state": "cancelled"}


def key_names(service, args):
    return {"names": service.keys.names(), "max": keys.MAX_KEYS}


def settings_get(service, args):
    """The stored settings text; with `text: false` only the CRC of the settings in force
    and whether the stored record is intact (read in pieces: a sync's read-back on a
    heap too small for a second copy of the text)."""
    from pumpwatch import readback
    if args.get("text", True) is False:
        return {"crc": service.unit.settings_crc, "intact": readback.record_intact(service.unit.settings_path)}
    try:
        stored = readback.read_record(service.unit.settings_path)
    except readback.CorruptRecord:
        stored = None
    if stored is None:
        return {"text": None, "crc": None}
    return {"text": stored["text"], "crc": stored["crc"]}


def settings_result(service, args):
    """The outcome of the last settings_put of this boot: `crc` of the text, `errors`
    (empty: in force), `refill_due_at`; crc null when there was none."""
    return service.unit.last_put or {"crc": None}


def log(service, args):
    """One page of a log, streamed from flash; `cursor` from the last page (null: the start)."""
    from pumpwatch import readback
    which = args.get("log", "events")
    if which not in ("events", "noise"):
        raise ValueError('log: "events" or "noise"')
    cursor = args.get("cursor")
    if cursor is not None and not (isinstance(cursor, list) and len(cursor) == 2 and whole(cursor[0])
                                   and whole(cursor[1])):
        raise ValueError("cursor: null or the cursor of the previous page")
    source = service.unit.log if which == "events" else service.unit.noise
    lines, cursor, done = readback.log_page(source, cursor, LOG_PAGE_BYTES)
    return {"lines": lines, "cursor": cursor, "done": done}


def start_pairing(service, args):
    key = keys.parse_key(args.get("key"))
    name = args.get("name", "first computer")
    problem = keys.check_name(name)
    if problem is not None:
        raise ValueError(problem)
    unit = service.unit
    if unit.request is not None and unit.request.open():
        return {"_error": (protocol.BUSY, "another request is waiting for a press on the unit: try again "
                           "in %d s" % (unit.request.ms_left() // 1000 + 1), None)}
    unit.request = button.Request(unit, sounds.PAIRING_CHIRP.length_ms, PAIRING_WINDOW_MS, "pair")
    unit.play_once(sounds.PAIRING_CHIRP)
    service.pending_key = (name, key)
    service.paired_name = None
    return {"state": "waiting", "press_within_s": PAIRING_WINDOW_MS // 1000,
            "press_after_ms": sounds.PAIRING_CHIRP.length_ms}


READS = {"hello": hello, "status": status, "nonce": nonce, "pair": pair, "pair_status": pair_status,
         "pair_cancel": pair_cancel,
         "keys": key_names, "settings_get": settings_get,
         "settings_result": settings_result, "log": log}
WRITES = ("settings_put", "time_set", "ack", "log_clear", "maintenance", "factory_reset", "alarm_test", "refill",
          "key_add", "key_remove")


def whole(value):
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0
