// The USB host side of the Pico's CDC serial port.
//
// Enumerates the device like rp2040js's USBCDC (set address, read the
// configuration, find the CDC data endpoints, set DTR/RTS), but answers the
// device's OUT-endpoint reads only when the host has bytes to send: rp2040js's
// own class answered an empty OUT endpoint with a zero-length packet at once,
// and TinyUSB re-armed it at once, a busy loop that kept the core awake (no
// WFI, so no fast-forward) and slowed emulated time.  A held read is answered
// when bytes arrive, as a real host's NAKs would leave it pending.
import {
  DataDirection, DescriptorType, SetupRecipient, SetupType,
  createSetupPacket, getDescriptorPacket, setDeviceAddressPacket, setDeviceConfigurationPacket,
} from 'rp2040js';

const SET_CONTROL_LINE_STATE = 0x22;
const DTR_RTS = 0x3;
const CONFIG_DESCRIPTOR_SIZE = 9;

const INTERFACE = 4, ENDPOINT = 5, CDC_DATA_CLASS = 10, BULK = 2;

/** The bulk IN/OUT endpoint numbers of the CDC data interface in a configuration descriptor. */
function cdcEndpoints(descriptors) {
  const found = { in: -1, out: -1 };
  let inData = false;
  for (let i = 0; i + 1 < descriptors.length && descriptors[i] >= 2; i += descriptors[i]) {
    const len = descriptors[i], type = descriptors[i + 1];
    if (type === INTERFACE && len === 9) inData = descriptors[i + 4] === 2 && descriptors[i + 5] === CDC_DATA_CLASS;
    if (inData && type === ENDPOINT && len === 7 && (descriptors[i + 3] & 3) === BULK) {
      const address = descriptors[i + 2];
      if (address & 0x80) found.in = address & 0xf; else found.out = address & 0xf;
    }
  }
  return found;
}

export class CdcHost {
  /** onData(Uint8Array): bytes the device sent; onConnected(): CDC configured. */
  constructor(usb, { onData, onConnected }) {
    this.usb = usb;
    this.queue = []; // Uint8Array chunks host -> device
    this.queued = 0;
    this.heldRead = null; // [endpoint, size] of an OUT read waiting for host bytes
    this.descriptorsSize = null;
    this.descriptors = [];
    this.configured = false;
    this.inEndpoint = -1;
    this.outEndpoint = -1;
    usb.onUSBEnabled = () => usb.resetDevice();
    usb.onResetReceived = () => usb.sendSetupPacket(setDeviceAddressPacket(1));
    usb.onEndpointWrite = (endpoint, buffer) => {
      if (endpoint === 0) this.control(buffer, onConnected);
      else if (endpoint === this.inEndpoint) onData(buffer);
    };
    usb.onEndpointRead = (endpoint, size) => {
      if (endpoint !== this.outEndpoint) return;
      if (this.queued === 0) this.heldRead = [endpoint, size];
      else this.answer(endpoint, size);
    };
  }

  control(buffer, onConnected) {
    const usb = this.usb;
    if (buffer.length === 0) {
      if (this.descriptorsSize == null) {
        usb.sendSetupPacket(getDescriptorPacket(DescriptorType.Configration, CONFIG_DESCRIPTOR_SIZE));
      } else if (!this.configured) {
        this.configured = true;
        usb.sendSetupPacket(createSetupPacket({
          dataDirection: DataDirection.HostToDevice, type: SetupType.Class, recipient: SetupRecipient.Device,
          bRequest: SET_CONTROL_LINE_STATE, wValue: DTR_RTS, wIndex: 0, wLength: 0,
        }));
        onConnected?.();
      }
      return;
    }
    if (buffer.length === CONFIG_DESCRIPTOR_SIZE && buffer[1] === DescriptorType.Configration &&
        this.descriptorsSize == null) {
      this.descriptorsSize = (buffer[3] << 8) | buffer[2];
      usb.sendSetupPacket(getDescriptorPacket(DescriptorType.Configration, this.descriptorsSize));
    } else if (this.descriptorsSize != null && this.descriptors.length < this.descriptorsSize) {
      this.descriptors.push(...buffer);
      if (this.descriptors.length >= this.descriptorsSize) {
        const endpoints = cdcEndpoints(this.descriptors);
        this.inEndpoint = endpoints.in;
        this.outEndpoint = endpoints.out;
        usb.sendSetupPacket(setDeviceConfigurationPacket(1));
      }
    }
  }

  /** Bytes from the host (the pty) for the device. */
  send(bytes) {
    if (!bytes.length) return;
    this.queue.push(Uint8Array.from(bytes));
    this.queued += bytes.length;
    if (this.heldRead) {
      const [endpoint, size] = this.heldRead;
      this.heldRead = null;
      this.answer(endpoint, size);
    }
  }

  answer(endpoint, size) {
    const out = new Uint8Array(Math.min(size, this.queued));
    let n = 0;
    while (n < out.length) {
      const head = this.queue[0];
      const take = Math.min(head.length, out.length - n);
      out.set(head.subarray(0, take), n);
      n += take;
      if (take === head.length) this.queue.shift(); else this.queue[0] = head.subarray(take);
    }
    this.queued -= n;
    this.usb.endpointReadDone(endpoint, out);
  }
}
