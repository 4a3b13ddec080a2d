// UART.  rp2040js 1.4.1 re-asserts the TX interrupt on every register access,
// so MicroPython's UART IRQ handler livelocks the core as soon as
// machine.UART() enables TXIM.  Here TXRIS is edge-like: raised after each
// byte written to DR (the emulated FIFO drains at once), cleared by ICR.
const UARTDR = 0x0;
const TXRIS = 1 << 5;

export function fixUartTxInterrupt(mcu) {
  for (const uart of mcu.uart) {
    uart.checkInterrupts = function () {
      this.rp2040.setInterrupt(this.irq, !!(this.interruptStatus & this.interruptMask));
    };
    const write = uart.writeUint32.bind(uart);
    uart.writeUint32 = function (offset, value) {
      write(offset, value);
      if (offset === UARTDR) {
        this.interruptStatus |= TXRIS;
        this.checkInterrupts();
      }
    };
  }
}
