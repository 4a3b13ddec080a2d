// Watchdog.  In rp2040js 1.4.1 the watchdog's trigger (a timeout or
// machine.reset()'s forced trigger) only calls a callback, and an expired alarm
// re-fires at the same instant forever inside clock.tick unless the handler
// stops the watchdog.  Here the handler stops it and asks the runner for a chip
// reset after the current instruction: a new RP2040 that keeps the flash and
// the watchdog's REASON and SCRATCH registers (machine.reset_cause() reads them).
const WATCHDOG_BASE = 0x40058;

export function watchdogOf(mcu) {
  return mcu.peripherals[WATCHDOG_BASE];
}

/** Hook the watchdog; `onTrigger()` is called once per trigger. Restore `kept` from a reset. */
export function installWatchdog(mcu, kept, onTrigger) {
  const wdt = watchdogOf(mcu);
  if (kept) {
    wdt.reason = kept.reason;
    wdt.scratchData.set(kept.scratch);
  }
  wdt.onWatchdogTrigger = () => {
    wdt.enable = false;
    wdt.alarm.enable = false;
    wdt.timer.enable = false;
    onTrigger(wdt.reason);
  };
  return wdt;
}

/** What survives a watchdog reset (null after a RUN-pin reset or power loss). */
export function keptOverReset(wdt) {
  return { reason: wdt.reason, scratch: new Uint32Array(wdt.scratchData) };
}
