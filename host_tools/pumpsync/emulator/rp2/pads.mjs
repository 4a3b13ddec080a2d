// Pads.  rp2040js 1.4.1 models neither the pads' pull-up/pull-down nor an
// output reading back as an input.  Here the level a pin reads is: its own
// output when the chip drives it, else what the outside world drives (the
// button, VBUS, set through the control channel), else its pull, else low.
// So Pin(14, IN, PULL_UP) reads 1 until the button is pressed.

export class Pads {
  constructor() {
    this.external = new Map(); // pin index -> boolean, kept over chip resets (it is the board)
    this.mcu = null;
  }

  attach(mcu) {
    this.mcu = mcu;
    for (const pin of mcu.gpio) pin.addListener(() => this.update(pin.index));
    for (const pin of mcu.gpio) this.update(pin.index);
  }

  update(index) {
    const pin = this.mcu.gpio[index];
    let level;
    if (pin.outputEnable) level = pin.outputValue;
    else if (this.external.has(index)) level = this.external.get(index);
    else level = pin.pullupEnabled && !pin.pulldownEnabled;
    if (level !== pin.rawInputValue) pin.setInputValue(level);
  }

  drive(index, level) {
    this.external.set(index, !!level);
    if (this.mcu) this.update(index);
  }

  release(index) {
    this.external.delete(index);
    if (this.mcu) this.update(index);
  }
}
