// The page's one WebSocket (/api/ws): JSON both ways, binary frames from the bridge.
// Reconnects with jittered backoff; requests carry a rid and resolve with the matching reply.

export const FRAME_HEADER_BYTES = 24;

/** Decode a binary frame message (layout in src/sinks/page/wire.ts). */
export function decodeFrame(buf) {
  const dv = new DataView(buf);
  return {
    kind: dv.getUint8(0),
    idx: dv.getUint16(2),
    seq: dv.getUint32(4),
    cameraTime: dv.getFloat64(8),
    receivedAt: dv.getFloat64(16),
    jpeg: new Uint8Array(buf, FRAME_HEADER_BYTES),
  };
}

export class PageSocket extends EventTarget {
  constructor(url) {
    super();
    this.url = url;
    this.ws = null;
    this.state = 'connecting';
    this.attempt = 0;
    this.nextRid = 1;
    this.waiting = new Map();
    this.acks = [];
    this.ackTimer = 0;
    this.everOpened = false;
  }

  connect() {
    const ws = new WebSocket(this.url);
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    this.setState(this.attempt ? 'reconnecting' : 'connecting');
    ws.onopen = () => {
      this.attempt = 0;
      this.everOpened = true;
      this.setState('open');
    };
    ws.onmessage = (ev) => {
      if (typeof ev.data === 'string') {
        let msg;
        try {
          msg = JSON.parse(ev.data);
        } catch {
          return;
        }
        if (msg.t === 'reply' || (msg.t === 'error' && msg.rid !== undefined)) {
          const w = this.waiting.get(msg.rid);
          if (w) {
            this.waiting.delete(msg.rid);
            clearTimeout(w.timer);
            if (msg.t === 'error') w.resolve({ ok: false, error: msg.error, code: 'refused' });
            else w.resolve(msg);
            return;
          }
        }
        this.dispatchEvent(new CustomEvent('message', { detail: msg }));
      } else {
        this.dispatchEvent(new CustomEvent('frame', { detail: ev.data }));
      }
    };
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.ws = null;
      for (const w of this.waiting.values()) {
        clearTimeout(w.timer);
        w.resolve({ ok: false, error: 'connection to cam2mqtt lost', code: 'offline' });
      }
      this.waiting.clear();
      this.acks = [];
      this.setState('reconnecting', ev.code);
      this.attempt++;
      // 0.5 s doubling to 10 s, +-25 % so a restarted bridge is not hit by every page at once.
      const delay = Math.min(10_000, 500 * 2 ** Math.min(this.attempt - 1, 5)) * (0.75 + Math.random() * 0.5);
      setTimeout(() => this.checkAuthThenConnect(), delay);
    };
  }

  /** A refused upgrade looks like any lost connection; ask the REST API whether we are logged out. */
  async checkAuthThenConnect() {
    if (this.attempt >= 2) {
      try {
        const r = await fetch('/api/presets', { headers: { Accept: 'application/json' }, cache: 'no-store' });
        if (r.status === 401) {
          location.href = `/login?next=${encodeURIComponent(location.pathname + location.hash)}`;
          return;
        }
      } catch {
        /* bridge still down: keep trying */
      }
    }
    this.connect();
  }

  setState(state, code) {
    this.state = state;
    this.dispatchEvent(new CustomEvent('state', { detail: { state, code } }));
  }

  get open() {
    return this.ws !== null && this.ws.readyState === WebSocket.OPEN;
  }

  send(msg) {
    if (this.open) this.ws.send(JSON.stringify(msg));
  }

  /** Send and wait for {t: 'reply', rid}. Never rejects: failures resolve as {ok: false, error}. */
  request(msg, timeoutMs = 20_000) {
    if (!this.open) return Promise.resolve({ ok: false, error: 'not connected to cam2mqtt', code: 'offline' });
    const rid = this.nextRid++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiting.delete(rid);
        resolve({ ok: false, error: 'no answer from cam2mqtt', code: 'timeout' });
      }, timeoutMs);
      this.waiting.set(rid, { resolve, timer });
      this.ws.send(JSON.stringify({ ...msg, rid }));
    });
  }

  /** Tell the bridge a frame of tile `idx` is done with (drawn or skipped): it may send the next. */
  ack(idx) {
    this.acks.push(idx);
    if (!this.ackTimer) {
      // Batch the acks of one task into one message.
      this.ackTimer = setTimeout(() => {
        this.ackTimer = 0;
        const c = this.acks;
        this.acks = [];
        if (c.length) this.send({ t: 'ack', c });
      }, 0);
    }
  }
}
