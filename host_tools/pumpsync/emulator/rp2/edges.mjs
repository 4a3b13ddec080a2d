// Pin edges with their emulated time: what a logic analyser on GP15 (buzzer
// PWM), GP25 (LED) and any other watched pin would record.  A ring of the last
// CAPACITY changes; readers page through it by sequence number.
const CAPACITY = 1 << 21;

export class EdgeLog {
  constructor(pins) {
    this.pins = new Set(pins);
    this.t = new Float64Array(CAPACITY); // emulated µs since the runner's time origin
    this.pin = new Uint8Array(CAPACITY);
    this.level = new Uint8Array(CAPACITY);
    this.seq = 0; // changes recorded so far (the next one's number)
  }

  /** Watch the pins of a (new) chip; nowUs() gives the emulated time. */
  attach(mcu, nowUs) {
    for (const gpio of mcu.gpio) {
      if (!this.pins.has(gpio.index)) continue;
      let last = -1;
      gpio.addListener((state) => {
        const level = state === 1 ? 1 : state === 0 ? 0 : 2; // 2: not driven (input / floating)
        if (level === last) return;
        last = level;
        this.record(nowUs(), gpio.index, level);
      });
    }
  }

  record(t, pin, level) {
    const i = this.seq % CAPACITY;
    this.t[i] = t; this.pin[i] = pin; this.level[i] = level;
    this.seq++;
  }

  /** Changes from sequence number `since` (at most `max`): {next, lost, edges: [[µs, pin, level]...]}. */
  read(since, max = 200000, pins = null) {
    const first = Math.max(since, this.seq - CAPACITY);
    const end = Math.min(this.seq, first + max);
    const edges = [];
    for (let s = first; s < end; s++) {
      const i = s % CAPACITY;
      if (!pins || pins.includes(this.pin[i])) edges.push([this.t[i], this.pin[i], this.level[i]]);
    }
    return { next: end, lost: first - since, edges };
  }
}
