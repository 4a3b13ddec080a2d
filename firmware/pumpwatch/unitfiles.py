"""Where a unit keeps its things on the flash, and its two event logs.

Owns the file names under the flash root and appending to the logs (the
evidence log and the small noise log).  Shared by the unit and by the boot's
settings phase, which runs before the unit's own code is loaded
(bootsettings.prepare), so the paths are defined once.
"""

from pumpwatch import records

INBOX = "settings.json"  # a settings file placed on the flash (e.g. with mpremote)


class UnitFiles:
    def __init__(self, hal):
        self.hal = hal
        root = hal.flash_root()
        self.data_dir = root + "data"
        self.inbox_path = root + INBOX
        self.settings_path = self.data_dir + "/settings.rec"
        self.state_path = self.data_dir + "/state.rec"
        self.plan_path = self.data_dir + "/plan.rec"  # the plan of the stored settings (plancache.py)
        self.staged_path = self.data_dir + "/staged.rec"  # a sync's settings are complete: apply at the next boot
        self.staged_text_path = self.data_dir + "/staged.txt"  # their text, written in pieces
        self.log = records.EventLog(self.data_dir, "events", 32768, 4)  # evidence
        self.noise = records.EventLog(self.data_dir, "noise", 4096, 2)  # what strangers can cause
        self.uptime = 0  # ms since boot (the unit keeps it up to date)
        self.storage_failed = False  # a log or record could not be written (a full flash): a fault

    def now_s(self):
        ms = self.hal.wall_time_ms()
        return None if ms is None else ms // 1000

    def since(self):
        """A start time for a fault: wall seconds, or uptime seconds while the time is unknown."""
        now = self.now_s()
        return now if now is not None else self.uptime // 1000

    def log_event(self, entry):
        """Evidence: kept until more evidence rotates it away."""
        entry["t"] = self.now_s()
        if not self.log.append(entry):
            self.storage_failed = True

    def log_noise(self, entry):
        """What a stranger or a curious finger can cause: its own small log."""
        entry["t"] = self.now_s()
        if not self.noise.append(entry):
            self.storage_failed = True
