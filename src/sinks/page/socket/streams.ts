import type { Camera } from '../../../hub/camera.js';
import type { Frame } from '../../../hub/frame.js';
import { frameMessage } from '../wire.js';
import type { PageClient } from './client.js';

/** One hub frame subscription per camera that at least one page tile shows, fanned out to those pages. */
interface Stream {
  clients: Set<PageClient>;
  unsubscribe: () => void;
}

/**
 * The cameras' frames to the pages that watch them. The subscription marks demand (native cameras go
 * to full rate while someone watches) and is dropped with the last watcher. Each frame's message is
 * built once and offered to every watching page's flow control.
 */
export class FrameStreams {
  private readonly streams = new Map<string, Stream>();

  /** Start sending `cam`'s frames to `client` under camera index `idx`; paints the tile at once. */
  watch(client: PageClient, cam: Camera, idx: number): void {
    const id = cam.id;
    client.flow.watch(id, idx);
    let s = this.streams.get(id);
    if (!s) {
      const clients = new Set<PageClient>();
      const unsubscribe = cam.subscribe((f: Frame) => {
        const m = frameMessage(f, idx);
        for (const c of clients) c.flow.offer(id, m);
      });
      s = { clients, unsubscribe };
      this.streams.set(id, s);
    }
    s.clients.add(client);
    // Paint the tile at once (also the last picture of an offline camera).
    if (cam.latest) client.flow.offer(id, frameMessage(cam.latest, idx));
  }

  unwatch(client: PageClient, id: string): void {
    client.flow.unwatch(id);
    const s = this.streams.get(id);
    if (!s) return;
    s.clients.delete(client);
    if (s.clients.size === 0) {
      s.unsubscribe();
      this.streams.delete(id);
    }
  }

  /** A page went away: every tile it watched. */
  unwatchAll(client: PageClient): void {
    for (const id of [...client.flow.tiles.keys()]) this.unwatch(client, id);
  }
}
