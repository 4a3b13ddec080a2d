// Emulated time.  The core runs instruction by instruction; while it waits
// (WFI/WFE) nothing happens until the next alarm, so time jumps there.  How far
// it may jump is the policy here:
//  * paced (default): emulated time may not pass anchor + speed x the wall time
//    since the anchor, so a host on the pty sees a live unit (speed 1: its
//    clock keeps up with the wall clock; a busy core, ~4x slower than silicon,
//    falls behind and catches up in its next idle stretch);
//  * advancing: `advance(ns)` lets idle time jump ahead freely until the
//    target, then returns to pacing from there (hours of unit life in seconds);
//  * speed Infinity: always jump (the unit as fast as it can run).
export class EmulatedTime {
  constructor(speed) {
    this.speed = speed;
    this.target = null; // total ns an advance() runs to
    this.onReached = null;
    this.anchorNs = 0;
    this.anchorWall = performance.now();
  }

  reanchor(nowNs) {
    this.anchorNs = nowNs;
    this.anchorWall = performance.now();
  }

  /** The latest total ns idle time may reach now. */
  limit() {
    if (this.target != null) return this.target;
    if (this.speed === Infinity) return Infinity;
    return this.anchorNs + this.speed * (performance.now() - this.anchorWall) * 1e6;
  }

  /** Wall ms until emulated time `ns` is allowed (for sleeping while paced). */
  wallMsUntil(ns) {
    if (this.target != null || this.speed === Infinity) return 0;
    if (this.speed === 0) return Infinity;
    return (ns - this.limit()) / 1e6 / this.speed;
  }

  advance(nowNs, ns, onReached) {
    this.target = Math.max(this.target ?? nowNs, nowNs + ns);
    this.onReached = onReached;
  }

  /** Called as time passes: ends an advance() that reached its target. */
  check(nowNs) {
    if (this.target != null && nowNs >= this.target) {
      const done = this.onReached;
      this.target = null;
      this.onReached = null;
      this.reanchor(nowNs);
      done?.();
    }
  }

  setSpeed(nowNs, speed) {
    this.reanchor(nowNs);
    this.speed = speed;
  }
}
