// The emulated Raspberry Pi Pico: rp2040js (package.json) running a MicroPython rp2 firmware, for
// tools/pico.py (which starts this with the arguments below and stops it by its PID).
//
//   node run.mjs --bootrom B1.bin --flash image.bin [--persist 1] --usb PORT [--uart1 PORT] [--uart0 PORT]
//
// --flash: the flash image from address 0x10000000 (the firmware's .bin, which tools/pico.py
// patches: a BKPT 0x51 as the first instruction of pico-sdk's flash_range_erase and a BKPT 0x52
// in flash_range_program; this file does their work on the emulated flash and returns).
// --persist 1: those writes also go into the image file as they happen (the file then holds the
// whole flash, 2 MB): a board killed and started again on it finds its filesystem as it was.
// --usb: the USB CDC serial port (MicroPython's REPL) as a TCP server on 127.0.0.1:PORT; --uart1,
// --uart0: the UARTs' bytes (8N1, no rate: a byte goes as soon as the FIFO has room). One client
// at a time on each (a new one replaces the last). What the board sends to USB while no client
// is there is kept (the last 64 KB: the banner); what a UART sends then is lost, as on a wire.
// Prints `pico: ready` on stdout once the ports listen.
//
// What rp2040js 1.4.1 does not model, handled here:
// - flash writes (the BKPT hooks above), so littlefs works;
// - the ring oscillator: ROSC RANDOMBIT (0x4006001c) answers a random bit from the host's
//   crypto.randomBytes (MicroPython's os.urandom reads it), not a constant;
// - the UART's transmit interrupt: rp2040js raises it on every check and it never clears, so an
//   interrupt-driven UART (machine.UART) never leaves its handler; here it rises when a byte was
//   sent (the FIFO drained at once) and stays cleared once the firmware clears it;
// - USB: rp2040js's host answers a device's OUT buffer at once, with no data if it has none,
//   and the device re-arms it at once: an interrupt storm. Here an OUT buffer waits for data.
// - time: the board's clock is the cycle count (125 MHz) while it runs; while it sleeps (WFI,
//   WFE) it jumps to the next alarm but never past the wall time since start, so the board's
//   timeouts last at least as long as they say.
// A register for measurements (no such device on a real Pico): 0x40068000 reads the cycles the
// core executed (not counting sleep), low 32 bits; 0x40068004 the high bits.
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import { BasePeripheral, ConsoleLogger, LogLevel, Simulator, USBCDC } from 'rp2040js';

const args = {};
for (let i = 2; i < process.argv.length; i += 2) {
  args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
}

const sim = new Simulator(); // only its clock (125 MHz) and chip: the run loop is below
const clock = sim.clock;
const mcu = sim.rp2040;
mcu.logger = new ConsoleLogger(LogLevel.Error);

// -- the UART's transmit interrupt (see above)
const TXINTR = 1 << 5;
const RPUART = mcu.uart[0].constructor;
RPUART.prototype.checkInterrupts = function () {
  this.rp2040.setInterrupt(this.irq, !!(this.interruptStatus & this.interruptMask));
};
const uartWrite = RPUART.prototype.writeUint32;
RPUART.prototype.writeUint32 = function (offset, value) {
  uartWrite.call(this, offset, value);
  if (offset === 0) {
    this.interruptStatus |= TXINTR; // sent at once: the FIFO is empty again
    this.checkInterrupts();
  }
};

// -- the ring oscillator's random bit
class Rosc extends BasePeripheral {
  constructor(rp2040) {
    super(rp2040, 'ROSC');
    this.regs = new Map();
    this.pool = Buffer.alloc(0);
    this.bit = 0;
  }
  randomBit() {
    if (this.bit === 0) {
      if (this.pool.length === 0) this.pool = crypto.randomBytes(256);
      this.byte = this.pool[0];
      this.pool = this.pool.subarray(1);
      this.bit = 8;
    }
    this.bit--;
    return (this.byte >> this.bit) & 1;
  }
  readUint32(offset) {
    if (offset === 0x1c) return this.randomBit();
    if (offset === 0x18) return 0x80001000; // STATUS: STABLE, ENABLED
    return this.regs.get(offset) ?? 0;
  }
  writeUint32(offset, value) {
    this.regs.set(offset, value);
  }
}
mcu.peripherals[0x40060] = new Rosc(mcu);

// -- the cycle counter for measurements
let executed = 0; // cycles the core ran
class Counter extends BasePeripheral {
  readUint32(offset) {
    if (offset === 0) return executed % 4294967296;
    if (offset === 4) return Math.floor(executed / 4294967296);
    return 0;
  }
  writeUint32() {}
}
mcu.peripherals[0x40068] = new Counter(mcu, 'COUNTER');

// -- bootrom and flash
const rom = fs.readFileSync(args.bootrom);
mcu.loadBootrom(new Uint32Array(rom.buffer, rom.byteOffset, rom.length >> 2));
const image = fs.readFileSync(args.flash);
mcu.flash.set(image);
// --persist 1: every erase and program also goes into the --flash file at once (a file the size
// of the flash), so the board's filesystem outlives this process, killed or not
const keep = args.persist === '1' ? fs.openSync(args.flash, 'r+') : null;
function kept(offs, n) {
  if (keep !== null) fs.writeSync(keep, mcu.flash, offs, n, offs);
}

const ERASE = 0x51;
const PROGRAM = 0x52;
mcu.onBreak = (code) => {
  const core = mcu.core;
  const r = core.registers;
  if (code === ERASE) {
    const offs = r[0] >>> 0;
    mcu.flash.fill(0xff, offs, offs + (r[1] >>> 0));
    kept(offs, r[1] >>> 0);
  } else if (code === PROGRAM) {
    const offs = r[0] >>> 0;
    const src = r[1] >>> 0;
    const n = r[2] >>> 0;
    for (let i = 0; i < n; i++) mcu.flash[offs + i] &= mcu.readUint8(src + i);
    kept(offs, n);
  } else {
    console.error(`pico: the board stopped at a breakpoint (${code}), pc ${core.PC.toString(16)} lr ${(r[14] >>> 0).toString(16)} r0 ${(r[0] >>> 0).toString(16)} sp ${(core.SP >>> 0).toString(16)} stack ${Array.from({ length: 24 }, (_, i) => mcu.readUint32(core.SP + 4 * i).toString(16)).join(" ")}`);
    process.exit(3);
  }
  core.PC = r[14] & ~1; // return to the caller
};

// -- TCP ports: one client each
function port(name, portNo, onData, keep) {
  const state = { sock: null, pending: [], pendingLen: 0 };
  const server = net.createServer((sock) => {
    if (state.sock) state.sock.destroy();
    state.sock = sock;
    sock.setNoDelay(true);
    for (const b of state.pending) sock.write(b);
    state.pending = [];
    state.pendingLen = 0;
    sock.on('data', (d) => onData(d));
    sock.on('error', () => {});
    sock.on('close', () => {
      if (state.sock === sock) state.sock = null;
    });
  });
  server.listen(Number(portNo), '127.0.0.1');
  state.send = (bytes) => {
    const b = Buffer.from(bytes);
    if (state.sock) {
      state.sock.write(b);
      return;
    }
    if (!keep) return;
    state.pending.push(b);
    state.pendingLen += b.length;
    while (state.pendingLen > 65536) state.pendingLen -= state.pending.shift().length;
  };
  return { state, server };
}

// -- USB CDC, the REPL
const cdc = new USBCDC(mcu.usbCtrl);
let usbIn = []; // host -> board, waiting for an OUT buffer
let usbWaiting = -1; // the size of an OUT buffer the board armed while nothing was there
function usbFeed() {
  if (usbWaiting < 0 || usbIn.length === 0 || cdc.outEndpoint < 0) return;
  const want = usbWaiting;
  usbWaiting = -1;
  let n = 0;
  const parts = [];
  while (usbIn.length && n < want) {
    let b = usbIn[0];
    if (b.length > want - n) {
      usbIn[0] = b.subarray(want - n);
      b = b.subarray(0, want - n);
    } else {
      usbIn.shift();
    }
    parts.push(b);
    n += b.length;
  }
  mcu.usbCtrl.endpointReadDone(cdc.outEndpoint, new Uint8Array(Buffer.concat(parts)));
}
mcu.usbCtrl.onEndpointRead = (endpoint, size) => {
  if (endpoint !== cdc.outEndpoint) return; // as rp2040js's USBCDC: only the data OUT endpoint
  usbWaiting = size;
  usbFeed();
};
const usb = port('usb', args.usb, (d) => {
  usbIn.push(d);
  usbFeed();
}, true);
cdc.onSerialData = (bytes) => usb.state.send(bytes);

// -- UARTs
const uarts = [];
for (const [i, key] of [[0, 'uart0'], [1, 'uart1']]) {
  if (!args[key]) continue;
  const u = { queue: [], uart: mcu.uart[i] };
  u.port = port(key, args[key], (d) => u.queue.push(d), false);
  u.uart.onByte = (b) => u.port.state.send([b]);
  uarts.push(u);
}
function uartFeed() {
  for (const u of uarts) {
    while (u.queue.length && !u.uart.rxFIFO.full) {
      const b = u.queue[0];
      u.uart.feedByte(b[0]);
      if (b.length === 1) u.queue.shift();
      else u.queue[0] = b.subarray(1);
    }
  }
}

// -- the run loop
const start = process.hrtime.bigint();
const CYCLE_NS = 8; // 125 MHz
function run() {
  const sliceEnd = Date.now() + 20;
  const core = mcu.core;
  for (;;) {
    const wallNs = Number(process.hrtime.bigint() - start);
    for (let i = 0; i < 20000; i++) {
      if (core.waiting) {
        const next = clock.nanosToNextAlarm;
        if (next <= 0 || clock.nanos + next > wallNs) {
          // asleep until an alarm that lies in the future, or until input comes
          uartFeed();
          const ms = next > 0 ? Math.max(1, Math.min(10, (clock.nanos + next - wallNs) / 1e6)) : 2;
          setTimeout(run, ms);
          return;
        }
        clock.tick(next);
      } else {
        const c = core.executeInstruction();
        executed += c;
        clock.tick(c * CYCLE_NS);
      }
    }
    uartFeed();
    if (Date.now() > sliceEnd) break;
  }
  setImmediate(run);
}

core_start();
function core_start() {
  mcu.core.PC = 0x10000000; // boot2 at the start of flash, as the bootrom would jump to it
  console.log('pico: ready');
  run();
}

process.on('SIGTERM', () => process.exit(0));
