// ROSC.  rp2040js 1.4.1 leaves the ring oscillator unimplemented (reads
// 0xffffffff), so RANDOMBIT is constant: os.urandom() returns one byte value
// over and over and `random` gets a constant seed.  Here RANDOMBIT is a random
// bit and STATUS says enabled and stable.
import { randomInt } from 'node:crypto';

const ROSC_BASE = 0x40060;
const STATUS = 0x18;
const RANDOMBIT = 0x1c;
const STATUS_STABLE_ENABLED = 0x80001000;

export function fixRoscRandomBit(mcu) {
  const rosc = mcu.peripherals[ROSC_BASE];
  const read = rosc.readUint32.bind(rosc);
  rosc.readUint32 = (offset) => {
    if (offset === RANDOMBIT) return randomInt(2);
    if (offset === STATUS) return STATUS_STABLE_ENABLED;
    return read(offset);
  };
  rosc.writeUint32 = () => {};
}
