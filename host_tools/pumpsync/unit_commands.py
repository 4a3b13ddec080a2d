"""The pumpsync commands that talk to a unit, by the module that owns each.

A map for readers and the names older callers import; each command lives
in a small module of its own: session.py (the connection), trust.py (pair,
keys, unpair), unit_status.py, unit_clock.py (time show / set), visit.py
(sync, refill), unit_log.py (log, log clear), unit_care.py (alarm test,
maintenance, factory reset, deploy), records_view.py (ports, history).
"""

from __future__ import annotations

from pumpsync.records_view import cmd_history, cmd_ports
from pumpsync.session import CommandFailed, Session
from pumpsync.trust import PAIR_WAIT_S, cmd_keys_add, cmd_keys_list, cmd_keys_remove, cmd_pair, cmd_unpair, pair_unit
from pumpsync.unit_care import cmd_alarm_test, cmd_deploy, cmd_factory_reset, cmd_maintenance
from pumpsync.unit_clock import CONFIRM_CLOCK_JUMP, MAX_CLOCK_JUMP_S, cmd_time_set, cmd_time_show
from pumpsync.unit_log import MAX_LOG_PAGES, cmd_log, cmd_log_clear, download_log, download_logs
from pumpsync.unit_status import cmd_status, unit_status
from pumpsync.visit import check_reconciliation_input, checked_settings, cmd_refill, cmd_sync, sync_unit

__all__ = ["CONFIRM_CLOCK_JUMP", "MAX_CLOCK_JUMP_S", "MAX_LOG_PAGES", "PAIR_WAIT_S", "CommandFailed", "Session",
           "check_reconciliation_input", "checked_settings", "cmd_alarm_test", "cmd_deploy", "cmd_factory_reset",
           "cmd_history", "cmd_keys_add", "cmd_keys_list", "cmd_keys_remove", "cmd_log", "cmd_log_clear",
           "cmd_maintenance", "cmd_pair", "cmd_ports", "cmd_refill", "cmd_status", "cmd_sync", "cmd_time_set",
           "cmd_time_show", "cmd_unpair", "download_log", "download_logs", "pair_unit", "sync_unit", "unit_status"]
