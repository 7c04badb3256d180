import type { Camera, LogEntry, MotionRegion } from './camera.js';
import type { Frame } from './frame.js';

export type SnapshotReason = 'motion' | 'request' | 'interval' | 'camera';

export interface MotionEvent {
  camera: Camera;
  state: 'start' | 'end';
  eventId: string;
  /** Camera time of the event, Unix ms. */
  cameraTime: number;
  /** Sequence of the frame that belongs to the event (the latest frame at start), if any. */
  frameSeq: number | undefined;
  region: MotionRegion | undefined;
}

/**
 * Every event the hub emits, with its payload. Frames are not here: they go to each camera's
 * frame listeners directly (hub/camera.ts), so the hot path never passes through an emitter.
 */
export interface HubEvents {
  /** A camera became known (configured, restored, or its first connection). */
  camera: [cam: Camera];
  online: [cam: Camera];
  offline: [cam: Camera];
  /** Forgotten (a `remove` over MQTT). */
  removed: [cam: Camera];
  /** Name, meta, capabilities or motion region changed. */
  updated: [cam: Camera];
  /** Info keys changed: `patch` holds only the changed keys. */
  info: [cam: Camera, patch: Record<string, unknown>];
  motion: [event: MotionEvent];
  snapshot: [cam: Camera, frame: Frame, reason: SnapshotReason];
  log: [cam: Camera, entry: LogEntry];
  /** Once a second, after each camera's fps and bitrate were measured. */
  stats: [];
}

export type HubEvent = keyof HubEvents;
export type HubListener<K extends HubEvent> = (...args: HubEvents[K]) => void;
