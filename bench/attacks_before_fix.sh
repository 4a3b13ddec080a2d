#!/usr/bin/env bash
# Issue 9, "Done when": every attack has a test that fails on the commit before the fix.
#
# Builds a "before" tree in a temporary directory -- this checkout's tests and
# emulator harness, the code under test from BASE (default ee1f021, the commit
# before the fixes) -- runs each chosen test there and here, and prints one line
# per test:  FAILS-BEFORE|PASSES-BEFORE|BROKEN-BEFORE  PASSES-NOW|FAILS-NOW  test, and
# under it the first failure before (the attack working) -- BROKEN-BEFORE when that
# failure is an import error, a missing reply field or argument, i.e. the test never
# reached the attack.  Exit status 0 only when every test fails before because of the
# attack (in every parametrized case) and passes now.
#
# What the before tree takes from BASE, per mode of a test:
#   fw    firmware/pumpwatch, firmware/main.py and the board HALs (machine_hal, esp32,
#         rp2) are BASE's: that is what the emulated unit runs.  The emulator's board
#         model -- firmware/hal/{__init__,base,emulator}.py: wrapping ticks, reset
#         through emuhw, faults injected inside a step -- and everything on the host
#         (pumpsync, the test driver, and the host's own import of pumpwatch) are this
#         checkout's.
#   unit  the firmware stepped on CPython: pumpwatch imported from BASE's firmware/
#         (same tree as fw); tests/unit/fake_hal.py and hal/base.py are this checkout's.
#   host  pumpsync's modules (host_tools/pumpsync/*.py) and the pumpwatch they import
#         are BASE's; the emulator (host_tools/pumpsync/emulator, js) is this checkout's
#         and an emulated unit in a host test runs BASE's firmware, as in fw.
#
# Takes about 4 minutes (the log-paging test waits 30 s for BASE's endless paging).
#
# Usage: bench/attacks_before_fix.sh [-k] [PATTERN]   (-k keeps the temp dir;
#        PATTERN runs only the cases whose line matches it, e.g. "pairing")
set -u
REPO=$(cd "$(dirname "$0")/.." && pwd)
BASE=${BASE:-ee1f021}
KEEP=0
if [ "${1:-}" = "-k" ]; then KEEP=1; shift; fi
FILTER=${1:-}
PY=$REPO/.venv/bin/python
[ -x "$PY" ] || make -C "$REPO" setup >/dev/null
[ -d "$REPO/node_modules" ] || make -C "$REPO" setup >/dev/null

WORK=$(mktemp -d /tmp/attacks_before.XXXXXX)
cleanup() { if [ "$KEEP" = 1 ]; then echo "kept $WORK"; else rm -rf "$WORK"; fi; }
trap cleanup EXIT
B=$WORK/before
mkdir -p "$B" "$WORK/head" "$WORK/base"
started=$(date +%s)

# ---------------------------------------------------------------- the before tree
git -C "$REPO" archive HEAD | tar -x -C "$B"
rm -rf "$B/tests"
(cd "$REPO" && tar -c --exclude=__pycache__ tests) | tar -x -C "$B"   # this checkout's tests, new files too
git -C "$REPO" archive "$BASE" firmware host_tools | tar -x -C "$WORK/base"
git -C "$REPO" archive HEAD firmware/pumpwatch | tar -x -C "$WORK/head"
rm -rf "$B/firmware/pumpwatch" "$B/firmware/main.py"
cp -r "$WORK/base/firmware/pumpwatch" "$WORK/base/firmware/main.py" "$B/firmware/"
for board_hal in machine_hal.py esp32.py rp2.py; do cp "$WORK/base/firmware/hal/$board_hal" "$B/firmware/hal/"; done
mkdir -p "$B/host_core" && cp -r "$WORK/head/firmware/pumpwatch" "$B/host_core/"          # fw: the host's core
mkdir -p "$B/host_old" && cp -r "$WORK/base/host_tools/pumpsync" "$B/host_old/"          # host: BASE's pumpsync
rm -rf "$B/host_old/pumpsync/emulator" "$B/host_old/pumpsync/js"
cp -r "$B/host_tools/pumpsync/emulator" "$B/host_tools/pumpsync/js" "$B/host_old/pumpsync/"
for harness in power_cuts.py; do  # harness modules the fix added: this checkout's
    [ -e "$B/host_old/pumpsync/$harness" ] || cp "$B/host_tools/pumpsync/$harness" "$B/host_old/pumpsync/"
done
ln -s "$REPO/node_modules" "$B/node_modules"
# A Python with this checkout's packages but not its editable install (whose finder would
# hand out this checkout's pumpwatch modules that BASE does not have).
"$PY" -m venv --without-pip "$WORK/venv"
SITE=$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
echo "$SITE" > "$("$WORK/venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/checkout_site.pth"
ln -s "$REPO/.venv/bin/micropython" "$WORK/venv/bin/micropython"
VPY=$WORK/venv/bin/python

pythonpath() {
    case $1 in
        fw) echo "$B/host_tools:$B/host_core" ;;
        unit) echo "$B/firmware" ;;
        host) echo "$B/host_old:$B/firmware" ;;
    esac
}

reason() {  # the first failure line of a pytest --tb=line run, shortened
    grep -m1 -E '^(/[^ ]*|[A-Za-z_./]+\.py):[0-9]+: |^E +|^ERROR ' "$1" \
        | sed -E "s#^$B/##; s#^$REPO/##; s#^/[^ ]*/(site-packages|lib/python3[^/]*)/#\1/#" | cut -c1-170
}

run_pytest() {  # dir pythonpath python nodeid log -> rc
    (cd "$1" && PYTHONPATH=$2 timeout 300 "$3" -m pytest -q -p no:cacheprovider --tb=line -o addopts="" \
        "$4" >"$5" 2>&1)
}

# mode | attack | test node id
# The portable tests (*_portable.py) speak only what BASE and HEAD both offer.  HEAD's own
# attack tests are listed only where they too run on BASE up to the attack.  These stop
# before it on BASE (a protocol field, module or function the fix added), so they are not
# listed: test_attacks.py's memory-bomb, stranger re-pair, abandoned-request, reply-MAC
# (pumpsync and unit), clock-jump, maintenance and refused-writes tests and
# test_fixed_heap.py's full-log sync (KeyError 'press_after_ms' or Keystore.store's new
# name argument); test_host_files.py (ImportError: pumpsync.client.printable);
# test_unit_hardening.py's clock and reply tests (ImportError: pumpwatch.clock,
# jsonpieces).  test_unit_hardening.py's memory-bomb test runs on CPython's json, whose
# limits are not a board's (on BASE 4 of its 6 bombs pass), so it is not listed either.
CASES=$(cat <<'EOF'
fw|crash to REPL (16 KB [)|tests/device/test_attacks_portable.py::test_a_memory_bomb_frame_gets_an_error_reply_never_the_repl
fw|crash to REPL (any exception)|tests/device/test_attacks.py::test_crashes_reset_into_monitoring_and_safe_mode_ignores_ctrl_c
unit|Ctrl-C at boot|tests/unit/test_unit_attacks_portable.py::test_main_py_disables_ctrl_c_and_arms_the_watchdog_before_its_first_firmware_import
fw|Ctrl-C in safe mode|tests/device/test_attacks_portable.py::test_ctrl_c_in_safe_mode_never_reaches_a_repl
fw|pairing: re-pair a paired unit|tests/device/test_attacks_portable.py::test_a_paired_unit_cannot_be_paired_again_from_the_port
fw|pairing: press begun before|tests/device/test_attacks.py::test_a_press_that_began_before_the_pairing_trill_ended_confirms_nothing
fw|pairing: press begun before|tests/device/test_attacks_portable.py::test_a_press_held_since_before_the_pairing_request_confirms_nothing
fw|pairing: abandoned request|tests/device/test_attacks_portable.py::test_an_abandoned_pairing_request_is_not_confirmed_by_a_press_days_later
host|rogue device: sync verified|tests/device/test_host_attacks_portable.py::test_pumpsync_sync_never_reports_success_from_a_device_that_cannot_sign
fw|unit signs its replies|tests/device/test_attacks_portable.py::test_replies_to_a_paired_computer_carry_the_units_mac_over_its_challenge
host|raw escape sequences|tests/device/test_host_attacks_portable.py::test_text_from_a_device_never_reaches_the_terminal_raw
host|log paging never ends|tests/device/test_host_attacks_portable.py::test_pumpsync_log_ends_against_a_device_that_never_says_done
fw|clock jump silences EMPTY|tests/device/test_attacks_portable.py::test_a_clock_set_a_year_ahead_an_ack_and_back_cannot_silence_empty
fw|clock jump unconfirmed|tests/device/test_attacks_portable.py::test_an_unconfirmed_clock_jump_of_a_day_is_refused
host|clock jump: pumpsync time set|tests/device/test_host_attacks_portable.py::test_pumpsync_time_set_refuses_an_unconfirmed_clock_jump
fw|maintenance counts as crash|tests/device/test_attacks_portable.py::test_three_maintenance_windows_do_not_put_a_healthy_unit_in_safe_mode
fw|settings crash-loop|tests/device/test_attacks.py::test_settings_that_overflow_are_refused_and_a_placed_one_sounds_the_fault
fw|settings crash-loop|tests/device/test_attacks_portable.py::test_a_placed_settings_file_that_overflows_is_rejected_with_the_fault_alarm
unit|settings crash-loop|tests/unit/test_unit_hardening.py::test_numbers_that_overflow_or_round_to_zero_are_refused_naming_the_field
unit|settings crash-loop|tests/unit/test_unit_hardening.py::test_settings_whose_check_raises_are_rejected_and_the_old_ones_stay
host|settings crash-loop (host)|tests/device/test_host_attacks_portable.py::test_pumpsync_forecast_names_a_number_out_of_range_instead_of_a_traceback
fw|log wiped by refused writes|tests/device/test_attacks_portable.py::test_a_day_of_refused_writes_cannot_rotate_the_boot_and_pairing_evidence_away
fw|log download heap|tests/device/test_attacks_portable.py::test_the_whole_log_downloads_on_a_board_sized_heap
fw|ticks wrap, clock lost|tests/device/test_clock_lost.py::test_clock_lost_for_30_days_keeps_sounding_after_every_pause
fw|ticks wrap, clock lost|tests/device/test_attacks.py::test_empty_keeps_returning_after_every_pause_across_a_tick_wrap_on_the_unix_backend
fw|ticks wrap, clock lost|tests/device/test_attacks_portable.py::test_with_the_clock_lost_the_alarm_returns_after_every_pause_across_a_tick_wrap
unit|MemoryError encoding a reply|tests/unit/test_unit_attacks_portable.py::test_running_out_of_memory_while_encoding_a_reply_leaves_the_loop_running
unit|CPU flood vs watchdog|tests/unit/test_unit_hardening.py::test_a_flood_of_frames_is_handled_a_few_per_step_with_the_watchdog_fed_for_each
unit|CPU flood vs watchdog|tests/unit/test_unit_attacks_portable.py::test_a_flood_of_frames_feeds_the_watchdog_for_every_frame_handled
fw|log_clear leaves events.log.3|tests/device/test_attacks.py::test_log_clear_and_factory_reset_leave_no_older_log_file
fw|log_clear leaves events.log.3|tests/device/test_attacks_portable.py::test_log_clear_and_factory_reset_leave_no_earlier_patients_log
host|keystore: keys.tmp link|tests/unit/test_host_files_portable.py::test_a_link_planted_at_the_keystores_temporary_file_is_never_followed
host|keystore: keys.tmp mode 0644|tests/unit/test_host_files_portable.py::test_a_leftover_world_readable_temporary_file_cannot_make_the_keystore_readable
host|history DB mode 0600|tests/unit/test_host_files_portable.py::test_the_history_database_is_not_readable_by_other_users
host|stray byte on the line|tests/device/test_attacks.py::test_a_stray_byte_on_the_line_does_not_break_the_next_command
host|stray byte on the line|tests/device/test_host_attacks_portable.py::test_a_stray_byte_on_the_line_does_not_break_the_next_command
unit|power cut in startup.apply|tests/unit/test_unit_hardening.py::test_a_power_cut_before_the_placed_file_is_removed_never_brings_old_settings_back
unit|urandom conditioning|tests/unit/test_unit_attacks_portable.py::test_random_bytes_never_repeat_even_when_the_hardware_source_is_stuck
EOF
)

# A failure before that is a missing module, function, argument or reply field, or a
# test that could not be collected, is the test not reaching the attack: BROKEN-BEFORE.
BROKEN='^E +(ImportError|ModuleNotFoundError|AttributeError|KeyError|TypeError|NameError)\b|^ERROR (collecting|tests/)'
printf '%-13s %-11s %-31s %s\n' BEFORE NOW ATTACK "TEST (mode) -- reason before"
bad=0
n=0
while IFS='|' read -r mode attack test; do
    [ -n "$test" ] || continue
    if [ -n "$FILTER" ] && ! printf '%s|%s|%s' "$mode" "$attack" "$test" | grep -q -- "$FILTER"; then continue; fi
    n=$((n + 1))
    log_before=$WORK/before.$n.log
    log_now=$WORK/now.$n.log
    run_pytest "$B" "$(pythonpath "$mode")" "$VPY" "$test" "$log_before"
    rc_before=$?
    run_pytest "$REPO" "" "$PY" "$test" "$log_now"
    rc_now=$?
    counts=$(tail -n1 "$log_before" | grep -oE '[0-9]+ (passed|failed|errors?)' | tr '\n' ' ')
    why=""
    if [ $rc_before -eq 0 ]; then
        before=PASSES-BEFORE; bad=1
    elif [ $rc_before -eq 124 ]; then
        before=FAILS-BEFORE; why="timed out after 300 s"
    else
        why=$(reason "$log_before")
        if [ $rc_before -ne 1 ] || grep -qE "$BROKEN" "$log_before"; then
            before=BROKEN-BEFORE; bad=1  # stopped before the attack: not evidence
        else
            before=FAILS-BEFORE
            case $counts in *passed*) why="$why  (some cases pass before)"; bad=1 ;; esac
        fi
    fi
    if [ $rc_now -eq 0 ]; then now=PASSES-NOW; else now=FAILS-NOW; bad=1; fi
    printf '%-13s %-11s %-31s %s (%s) [%s]\n' "$before" "$now" "$attack" "${test#tests/}" "$mode" "${counts% }"
    [ -n "$why" ] && printf '%58s-- %s\n' "" "$why"
    if [ $rc_now -ne 0 ]; then printf '%58sNOW: %s\n' "" "$(reason "$log_now")"; fi
done <<<"$CASES"
echo "$n tests in $(( $(date +%s) - started )) s"
exit $bad
