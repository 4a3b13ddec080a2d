// PWM at rest.  rp2040js schedules three clock alarms per PWM period for every
// enabled slice, even one whose compare values are 0 (a silent buzzer: the
// firmware keeps its PWM running at duty 0 so it does not click).  Each alarm
// ends a WFI, so an idle unit never idles for more than a PWM period and
// fast-forward crawls.  Here a slice whose A and B compare values are both 0
// (a constant output) stops its alarms; its output is held where the next wrap
// would have put it.  A CC or CSR write that gives it a waveform restarts it
// with its counter, at once (the double-buffered value is applied then rather
// than at the next wrap, within one period of silence).
const CHn_CSR = 0x00, CHn_CC = 0x0c, CHn_TOP = 0x10;
const CSR_EN = 1;

export function quietPwm(mcu) {
  const pwm = mcu.pwm;
  pwm.channels.forEach((channel) => {
    const write = channel.writeRegister.bind(channel);
    const alarms = [channel.alarmA, channel.alarmB, channel.alarmBottom];
    channel.quiet = false;
    channel.refresh = () => {
      const enabled = !!(channel.csr & CSR_EN);
      const silent = enabled && (channel.cc & 0xffff) === 0 && (channel.cc >>> 16) === 0 &&
        !(pwm.intEnable & (1 << channel.index));
      if (silent && !channel.quiet) {
        channel.updateDoubleBuffered();
        channel.quiet = true;
        for (const alarm of alarms) alarm.enable = false;
        channel.setA(false);
        channel.setB(false);
      } else if (!silent && channel.quiet) {
        channel.quiet = false;
        channel.updateDoubleBuffered();
        for (const alarm of alarms) alarm.enable = true;
      }
    };
    channel.writeRegister = (offset, value) => {
      write(offset, value);
      if (offset === CHn_CC || offset === CHn_CSR || offset === CHn_TOP) channel.refresh();
    };
  });
}
