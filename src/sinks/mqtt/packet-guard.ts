import type { Readable } from 'node:stream';

/**
 * Aedes has no broker-side maximum packet size: it buffers a whole PUBLISH before any hook sees it.
 * This watches the bytes Aedes reads from a client connection, follows the MQTT framing (fixed header
 * byte + variable-length "remaining length"), and calls `onTooBig` as soon as a header announces a
 * packet larger than `maxBytes`, before its body is buffered.
 *
 * It listens to 'data', which a stream in paused mode (Aedes uses 'readable' + read()) emits for
 * every chunk read() returns, so it sees exactly what the MQTT parser sees without taking over the
 * flow. Attach it after aedes.handle().
 */
export function guardPacketSize(
  stream: Readable,
  maxBytes: number,
  onTooBig: (announced: number, why: string) => void,
): void {
  let state: 'type' | 'length' | 'body' = 'type';
  let length = 0;
  let multiplier = 1;
  let lengthBytes = 0;
  let remaining = 0;
  let tripped = false;
  const trip = (announced: number, why: string) => {
    if (tripped) return;
    tripped = true;
    onTooBig(announced, why);
  };
  stream.on('data', (chunk: Buffer) => {
    if (tripped || typeof chunk === 'string') return;
    let i = 0;
    while (i < chunk.length && !tripped) {
      if (state === 'body') {
        const take = Math.min(remaining, chunk.length - i);
        i += take;
        remaining -= take;
        if (remaining === 0) state = 'type';
      } else if (state === 'type') {
        i++;
        state = 'length';
        length = 0;
        multiplier = 1;
        lengthBytes = 0;
      } else {
        const b = chunk[i++]!;
        length += (b & 0x7f) * multiplier;
        multiplier *= 128;
        lengthBytes++;
        if ((b & 0x80) === 0) {
          const total = 1 + lengthBytes + length;
          if (total > maxBytes)
            return trip(total, `packet of ${total} bytes is larger than mqtt.max_packet_bytes (${maxBytes})`);
          remaining = length;
          state = remaining > 0 ? 'body' : 'type';
        } else if (lengthBytes >= 4) {
          return trip(-1, 'malformed remaining length');
        }
      }
    }
  });
}
