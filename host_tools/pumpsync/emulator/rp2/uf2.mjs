// UF2 images: the blocks of a firmware.uf2 written onto a flash array (as the
// Pico's BOOTSEL drive does when a technician copies the file onto it).
import fs from 'node:fs';

const MAGIC0 = 0x0a324655;
const MAGIC1 = 0x9e5d5157;
const FLAG_NOT_MAIN_FLASH = 0x1;
export const XIP_BASE = 0x10000000;

/** Write the main-flash blocks of the UF2 at `path` into `flash`; the number of blocks. */
export function writeUF2(path, flash) {
  const buf = fs.readFileSync(path);
  let blocks = 0;
  for (let off = 0; off + 512 <= buf.length; off += 512) {
    if (buf.readUInt32LE(off) !== MAGIC0 || buf.readUInt32LE(off + 4) !== MAGIC1) continue;
    if (buf.readUInt32LE(off + 8) & FLAG_NOT_MAIN_FLASH) continue;
    const addr = buf.readUInt32LE(off + 12) - XIP_BASE;
    const size = buf.readUInt32LE(off + 16);
    if (addr < 0 || addr + size > flash.length) continue;
    flash.set(buf.subarray(off + 32, off + 32 + size), addr);
    blocks++;
  }
  if (!blocks) throw new Error(`${path} holds no RP2040 UF2 blocks`);
  return blocks;
}
