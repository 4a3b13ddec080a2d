#!/usr/bin/env node
// The emulated Raspberry Pi Pico (RP2040 on npm rp2040js 1.4.1) that runs the
// official MicroPython firmware.uf2, for PumpWatch's "rp2" emulator backend.
//
// stdin/stdout: the USB CDC serial byte stream (the Python side links it to a
// pty); stderr: the log.  A control socket (--ctl, JSON lines, one reply per
// request) drives the board around the chip: pins, ADC, time, reset.  The
// shims for rp2040js's gaps are one module each (flash, watchdog, usbcdc,
// pads, uart, rosc, pwm); docs/emulator.md "The rp2 backend".
//
// usage: node runner.mjs --bootrom BOOTROM.mjs --firmware FIRMWARE.uf2 --flash FLASH.bin --ctl SOCK
//            [--write-uf2 0|1] [--speed X|inf] [--origin-us N] [--battery-mv MV] [--vbus 0|1]
import fs from 'node:fs';
import net from 'node:net';
import { pathToFileURL } from 'node:url';
import { RP2040, LogLevel } from 'rp2040js';

import { writeUF2 } from './uf2.mjs';
import { FlashFile, FLASH_SIZE, installFlashWrites } from './flash.mjs';
import { installWatchdog, keptOverReset } from './watchdog.mjs';
import { CdcHost } from './usbcdc.mjs';
import { Pads } from './pads.mjs';
import { fixUartTxInterrupt } from './uart.mjs';
import { fixRoscRandomBit } from './rosc.mjs';
import { quietPwm } from './pwm.mjs';
import { EdgeLog } from './edges.mjs';
import { EmulatedTime } from './clock.mjs';

process.env.TZ = 'UTC'; // rp2040js's RTC reads the time of day through Date's local-time getters

const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
const originUs = Number(args['origin-us'] ?? 0); // emulated µs before this runner started (earlier boots)
let baseNs = 0; // emulated ns of this runner's earlier chip lives
let mcu = null, wdt = null, cdc = null, resetKind = null;
const log = (...m) => process.stderr.write(`[rp2 ${(nowUs() / 1e6).toFixed(3)}s] ${m.join(' ')}\n`);

const CYCLE_NS = 1e9 / 125e6; // rp2040js counts every cycle at 125 MHz
const SLICE = 100000; // instructions between looks at the event loop
const BUTTON_PIN = 14, BUZZER_PIN = 15, VIBRATION_PIN = 16, VBUS_PIN = 24, LED_PIN = 25;
const ADC_VSYS = 3, ADC_TEMP = 4;

const { bootromB1 } = await import(pathToFileURL(args.bootrom).href);
const flashFile = new FlashFile(args.flash);
if (flashFile.isNew || args['write-uf2'] === '1') {
  const blocks = writeUF2(args.firmware, flashFile.data);
  flashFile.saveAll(flashFile.data);
  log(`wrote ${blocks} UF2 blocks of ${args.firmware} onto the flash`);
}

const stats = {
  exec_cycles: 0, idle_skipped_ns: 0, chip_resets: 0, watchdog_resets: 0, flash_erases: 0, flash_programs: 0,
  unknown_bkpt: 0, bytes_to_host: 0, bytes_from_host: 0, usb_configured: 0,
};
const warnings = new Map();
const logger = {
  debug() {}, info() {},
  warn(component, message) {
    const key = `${component}: ${String(message).replace(/0x[0-9a-f]+/gi, '0x..')}`;
    warnings.set(key, (warnings.get(key) ?? 0) + 1);
  },
  error(component, message) { this.warn(component, message); log('error', component, message); },
};

// ---- the board: what is outside the chip and survives its resets ----
const pads = new Pads();
const edges = new EdgeLog([BUTTON_PIN, BUZZER_PIN, VIBRATION_PIN, VBUS_PIN, LED_PIN]);
const adc = [0, 0, 0, 0, 876]; // channel 4: the temperature sensor's 0.706 V (27 °C)
const time = new EmulatedTime(args.speed === 'inf' ? Infinity : Number(args.speed ?? 1));
const events = [];

function nowNs() { return baseNs + (mcu ? mcu.clock.nanos : 0); }
function nowUs() { return originUs + nowNs() / 1000; }
function event(kind, extra = {}) {
  events.push({ k: kind, t_us: nowUs(), ...extra });
  if (events.length > 10000) events.splice(0, 5000);
}
function setBattery(mv) { adc[ADC_VSYS] = Math.max(0, Math.min(4095, Math.round(mv / 3 / 3300 * 4095))); }
setBattery(Number(args['battery-mv'] ?? 3900));
pads.drive(VBUS_PIN, args.vbus !== '0');

function buildChip(flash, kept) {
  if (mcu) baseNs += mcu.clock.nanos;
  mcu = new RP2040();
  mcu.logger = logger;
  mcu.loadBootrom(bootromB1); // this resets the chip, which fills its flash with 0xff: load it after
  mcu.flash.set(flash.subarray(0, FLASH_SIZE));
  installFlashWrites(mcu, flashFile, stats, log);
  wdt = installWatchdog(mcu, kept, (reason) => { resetKind = 'watchdog'; event('watchdog', { reason }); });
  cdc = new CdcHost(mcu.usbCtrl, {
    onData: (bytes) => { stats.bytes_to_host += bytes.length; process.stdout.write(Buffer.from(bytes)); },
    onConnected: () => { stats.usb_configured++; event('usb_configured'); },
  });
  if (args['no-uart-fix'] !== '1') fixUartTxInterrupt(mcu);
  if (args['no-rosc-fix'] !== '1') fixRoscRandomBit(mcu);
  if (args['no-pwm-quiet'] !== '1') quietPwm(mcu);
  mcu.adc.channelValues = adc; // shared: the battery is the board's
  pads.attach(mcu);
  edges.attach(mcu, nowUs);
  mcu.core.PC = 0x10000000; // into boot2 at the start of flash, as the bootrom would
}

function chipReset(kind) {
  const keep = new Uint8Array(mcu.flash.subarray(0, FLASH_SIZE));
  const kept = kind === 'watchdog' ? keptOverReset(wdt) : null;
  stats.chip_resets++;
  if (kind === 'watchdog') stats.watchdog_resets++;
  event('reset', { kind, reason: kept ? kept.reason : 0 });
  log(`chip reset (${kind}${kept ? `, watchdog REASON=${kept.reason}` : ''})`);
  buildChip(keep, kept);
}

// ---- the main loop ----
let running = true, timer = null;
function schedule(ms) {
  if (timer) { clearTimeout(timer); timer = null; }
  if (ms <= 0) timer = setImmediate(execute), timer = null;
  else timer = setTimeout(() => { timer = null; execute(); }, Math.min(ms, 50));
}
function wake() { if (timer) { clearTimeout(timer); timer = null; setImmediate(execute); } }

function execute() {
  if (!running) return;
  const clock = mcu.clock;
  let sleepMs = 0;
  for (let i = 0; i < SLICE; i++) {
    const core = mcu.core;
    if (core.waiting) {
      const dt = clock.nanosToNextAlarm; // 0: nothing scheduled
      const limit = time.limit();
      const now = nowNs();
      if (dt > 0 && now + dt <= limit) {
        clock.tick(dt);
        stats.idle_skipped_ns += dt;
      } else {
        if (limit !== Infinity && limit > now) {
          clock.tick(limit - now);
          stats.idle_skipped_ns += limit - now;
        }
        time.check(nowNs());
        if (time.target == null) {
          sleepMs = dt > 0 ? Math.max(1, time.wallMsUntil(nowNs() + dt)) : 20;
          break;
        }
        if (dt <= 0 && time.target != null && limit === time.target) continue; // reached by the tick above
      }
    } else {
      const cycles = core.executeInstruction();
      stats.exec_cycles += cycles;
      clock.tick(cycles * CYCLE_NS);
    }
    if (resetKind) break;
    if (time.target != null && nowNs() >= time.target) time.check(nowNs());
  }
  if (resetKind) { const kind = resetKind; resetKind = null; chipReset(kind); sleepMs = 0; }
  time.check(nowNs());
  if (sleepMs) schedule(sleepMs); else setImmediate(execute);
}

// ---- host -> device serial ----
process.stdin.on('data', (chunk) => {
  stats.bytes_from_host += chunk.length;
  event('host_bytes', { n: chunk.length }); // when each arrives in emulated time: a late note's cause
  cdc.send(chunk);
  wake();
});
process.stdin.on('end', () => shutdown(0));

// ---- the control channel ----
function pwmOf(pin, fromUs, toUs) {
  const { edges: list } = edges.read(0, Infinity, [pin]);
  const rises = [], falls = [];
  for (let i = 1; i < list.length; i++) {
    const [t, , v] = list[i];
    if (t < fromUs || t > toUs) continue;
    if (v === 1 && list[i - 1][2] === 0) rises.push(t);
    if (v === 0 && list[i - 1][2] === 1) falls.push(t);
  }
  if (rises.length < 2) return { freq_hz: 0, duty: null, periods: 0 };
  const period = (rises[rises.length - 1] - rises[0]) / (rises.length - 1);
  const fall = falls.find((f) => f > rises[0]);
  return { freq_hz: 1e6 / period, duty: fall != null ? (fall - rises[0]) / period : null, periods: rises.length - 1 };
}

function pinState(index) {
  const p = mcu.gpio[index];
  return { pin: index, level: p.inputValue ? 1 : 0, output_enable: p.outputEnable, output: p.outputValue ? 1 : 0,
    funcsel: p.functionSelect, pull_up: p.pullupEnabled, pull_down: p.pulldownEnabled,
    driven: pads.external.has(index) ? (pads.external.get(index) ? 1 : 0) : null };
}

function statsNow() {
  return { ...stats, emu_us: nowUs(), chip_us: mcu.clock.nanos / 1000, wall_s: process.uptime(),
    cpu_s: process.cpuUsage().user / 1e6, speed: time.speed === Infinity ? 'inf' : time.speed,
    advancing: time.target != null, usb_configured: stats.usb_configured, waiting: mcu.core.waiting,
    pc: mcu.core.PC >>> 0 };
}

function control(req, reply) {
  switch (req.cmd) {
    case 'drive': pads.drive(req.pin, req.level); wake(); return reply({ ok: true, t_us: nowUs() });
    case 'release': pads.release(req.pin); wake(); return reply({ ok: true, t_us: nowUs() });
    case 'pin': return reply(pinState(req.pin));
    case 'edges': return reply(edges.read(req.since ?? 0, req.max ?? 200000, req.pins ?? null));
    case 'pwm': return reply({ pin: req.pin, ...pwmOf(req.pin, req.from_us ?? 0, req.to_us ?? Infinity) });
    case 'battery': setBattery(req.mv); return reply({ ok: true, raw: adc[ADC_VSYS] });
    case 'adc': adc[req.channel] = req.value; return reply({ ok: true });
    case 'now': return reply({ t_us: nowUs() });
    case 'advance':
      time.advance(nowNs(), req.ms * 1e6, () => reply({ ok: true, t_us: nowUs() }));
      wake();
      return undefined;
    case 'speed': time.setSpeed(nowNs(), req.speed === 'inf' ? Infinity : req.speed); wake(); return reply({ ok: true });
    case 'reset': resetKind = 'run_pin'; wake(); if (mcu.core.waiting) { resetKind = null; chipReset('run_pin'); }
      return reply({ ok: true });
    case 'events': return reply({ events: events.filter((e) => e.t_us >= (req.since_us ?? 0)) });
    case 'stats': return reply(statsNow());
    case 'warnings': return reply(Object.fromEntries(warnings));
    case 'wdt': return reply({ enable: wdt.enable, reason: wdt.reason, scratch: [...wdt.scratchData] });
    default: return reply({ error: `unknown command ${req.cmd}` });
  }
}

try { fs.unlinkSync(args.ctl); } catch {}
const server = net.createServer((sock) => {
  let buf = '';
  sock.on('data', (d) => {
    buf += d.toString();
    for (let i; (i = buf.indexOf('\n')) >= 0;) {
      const line = buf.slice(0, i); buf = buf.slice(i + 1);
      const reply = (res) => { if (!sock.destroyed) sock.write(JSON.stringify(res) + '\n'); };
      try { control(JSON.parse(line), reply); } catch (e) { reply({ error: String(e?.stack ?? e) }); }
    }
  });
  sock.on('error', () => {});
});
server.listen(args.ctl, () => process.stderr.write(`control socket ${args.ctl}\n`));

function shutdown(code) {
  if (!running) return;
  running = false;
  log('stats ' + JSON.stringify(statsNow()));
  try { fs.unlinkSync(args.ctl); } catch {}
  process.exit(code);
}
process.on('SIGTERM', () => shutdown(0));
process.on('SIGINT', () => shutdown(0));

buildChip(flashFile.data, null);
event('power_on');
execute();
