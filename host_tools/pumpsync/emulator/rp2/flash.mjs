// Flash writes.  rp2040js 1.4.1 has no flash write path (its SSI is a stub), so
// the bootrom's flash_range_erase ('RE') and flash_range_program ('RP') entry
// points are replaced by `BKPT #n; BX LR` and the breakpoint does the work on
// mcu.flash.  Every erase/program is also written through to the flash file at
// once (only the bytes it touched), so a power cut (the runner killed) keeps
// the flash as of the last completed write, as on a board.
import fs from 'node:fs';

export const FLASH_SIZE = 2 * 1024 * 1024; // Raspberry Pi Pico: W25Q16, 2 MiB
const SECTOR = 4096;
const BKPT_ERASE = 0xe1;
const BKPT_PROGRAM = 0xe2;

function romFunction(rom, code) {
  // rom_func_lookup: the table pointer at 0x14 lists (code, address) halfword pairs
  const view = new DataView(rom.buffer, rom.byteOffset, rom.byteLength);
  for (let p = view.getUint16(0x14, true); ; p += 4) {
    const c = view.getUint16(p, true);
    if (!c) throw new Error(`bootrom has no function ${code.toString(16)}`);
    if (c === code) return view.getUint16(p + 2, true) & ~1;
  }
}

/** The flash file: opened (created full of 0xff if missing) for write-through. */
export class FlashFile {
  constructor(path) {
    this.path = path;
    this.isNew = !fs.existsSync(path);
    this.data = new Uint8Array(FLASH_SIZE).fill(0xff);
    if (!this.isNew) this.data.set(fs.readFileSync(path).subarray(0, FLASH_SIZE));
    this.fd = fs.openSync(path, this.isNew ? 'w+' : 'r+');
    if (this.isNew) this.writeThrough(this.data, 0, FLASH_SIZE);
  }
  writeThrough(flash, start, end) {
    fs.writeSync(this.fd, flash, start, end - start, start);
  }
  saveAll(flash) {
    this.writeThrough(flash, 0, FLASH_SIZE);
  }
}

/** Patch the chip's bootrom and serve its flash writes; counts go to `stats`. */
export function installFlashWrites(mcu, file, stats, log) {
  const rom16 = new Uint16Array(mcu.bootrom.buffer, mcu.bootrom.byteOffset, mcu.bootrom.byteLength / 2);
  const erase = romFunction(mcu.bootrom, 0x4552);
  const program = romFunction(mcu.bootrom, 0x5052);
  rom16[erase >> 1] = 0xbe00 | BKPT_ERASE; rom16[(erase >> 1) + 1] = 0x4770; // BKPT; BX LR
  rom16[program >> 1] = 0xbe00 | BKPT_PROGRAM; rom16[(program >> 1) + 1] = 0x4770;
  mcu.onBreak = (code) => {
    const r = mcu.core.registers;
    if (code === BKPT_ERASE) {
      const addr = r[0] >>> 0, count = r[1] >>> 0;
      const start = Math.min(addr & ~(SECTOR - 1), FLASH_SIZE);
      const end = Math.min((addr + count + SECTOR - 1) & ~(SECTOR - 1), FLASH_SIZE);
      mcu.flash.fill(0xff, start, end);
      file.writeThrough(mcu.flash, start, end);
      stats.flash_erases++;
    } else if (code === BKPT_PROGRAM) {
      const addr = r[0] >>> 0, data = r[1] >>> 0, count = r[2] >>> 0;
      const end = Math.min(addr + count, FLASH_SIZE);
      for (let i = addr; i < end; i++) mcu.flash[i] &= mcu.readUint8(data + i - addr); // NOR: 1 -> 0 only
      file.writeThrough(mcu.flash, addr, end);
      stats.flash_programs++;
    } else {
      stats.unknown_bkpt++;
      log(`BKPT #${code} at PC=0x${(mcu.core.PC >>> 0).toString(16)}`);
    }
  };
}
