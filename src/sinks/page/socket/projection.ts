import type { Camera } from '../../../hub/camera.js';
import type { CameraHub } from '../../../hub/hub.js';
import type { CameraStats, PageCamera, ServerMessage } from '../protocol.js';

const LOG_LINES_IN_HELLO = 40;

/**
 * The hub as the page sees it: hub events become page messages (broadcast once to every page), each
 * camera gets a small stable index for the binary frame headers, and cameras become PageCamera JSON.
 */
export class PageProjection {
  private readonly indexes = new Map<string, number>();
  private nextIndex = 1;

  /**
   * @param broadcast sends a message to every page
   * @param forget called for a removed camera before the pages are told (to stop its frames)
   */
  constructor(
    private readonly hub: CameraHub,
    broadcast: (msg: ServerMessage) => void,
    private readonly forget: (cam: Camera) => void,
  ) {
    for (const cam of hub.list()) this.indexOf(cam);
    hub.listen(this, 'camera', (cam) => broadcast({ t: 'cam', cam: this.camera(cam, true) }));
    const changed = (cam: Camera) => broadcast({ t: 'cam', cam: this.camera(cam, false) });
    hub.listen(this, 'updated', changed);
    hub.listen(this, 'online', changed);
    hub.listen(this, 'offline', changed);
    hub.listen(this, 'removed', (cam) => {
      this.forget(cam);
      this.indexes.delete(cam.id);
      broadcast({ t: 'removed', id: cam.id });
    });
    hub.listen(this, 'info', (cam, patch) => broadcast({ t: 'info', id: cam.id, patch }));
    hub.listen(this, 'log', (cam, entry) => broadcast({ t: 'log', id: cam.id, entry }));
    hub.listen(this, 'motion', (e) =>
      broadcast({
        t: 'motion',
        id: e.camera.id,
        state: e.state,
        region: e.region ?? null,
        camera_time: e.cameraTime,
        event_id: e.eventId,
      }),
    );
    hub.listen(this, 'clip', (c) =>
      broadcast({
        t: 'clip',
        state: c.state,
        clip: {
          id: c.id,
          event_id: c.eventId,
          camera: c.camera.id,
          kind: c.kind,
          start: c.start,
          end: c.end ?? null,
          duration_s: c.durationS,
          frames: c.frames,
        },
      }),
    );
  }

  stop(): void {
    this.hub.unlisten(this);
  }

  /** Stable small number per camera id for binary headers (u16; reused only after 65k cameras). */
  indexOf(cam: Camera): number {
    let i = this.indexes.get(cam.id);
    if (i === undefined) {
      if (this.nextIndex > 0xffff) {
        const used = new Set(this.indexes.values());
        this.nextIndex = 1;
        while (used.has(this.nextIndex)) this.nextIndex++;
      }
      i = this.nextIndex++;
      this.indexes.set(cam.id, i);
    }
    return i;
  }

  /** One camera as the page sees it: its REST JSON plus the index used in binary frame headers. */
  camera(cam: Camera, withLog: boolean): PageCamera {
    // Camera.toJSON() is the REST shape (GET /api/cameras) that PageCamera spells out.
    const j: PageCamera = {
      ...(cam.toJSON() as Omit<PageCamera, 'idx' | 'last_seen_ms' | 'last_frame_time' | 'log'>),
      idx: this.indexOf(cam),
      last_seen_ms: cam.lastSeen ?? null,
      last_frame_time: cam.latest?.cameraTime ?? null,
    };
    if (withLog) j.log = cam.log.toArray().slice(-LOG_LINES_IN_HELLO);
    return j;
  }

  /** Every camera with its last log lines, for hello. */
  cameras(): PageCamera[] {
    return this.hub.list().map((c) => this.camera(c, true));
  }

  /** The figures of the periodic stats message. */
  stats(): CameraStats[] {
    return this.hub.list().map((c) => ({
      id: c.id,
      online: c.online,
      fps: Math.round(c.fps * 10) / 10,
      bitrate: Math.round(c.bitrate),
      last_seen_ms: c.lastSeen ?? null,
      watchers: c.watchers,
    }));
  }
}
