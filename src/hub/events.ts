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
  /**
   * Set by the recordings sink while it records the event (it listens before MQTT and the page, see
   * src/extensions.ts): absolute URLs, and at `end` a promise of the finished clip's figures.
   */
  recording?: EventRecording;
}

/** What the recordings sink adds to a motion event (MQTT's motion_start / motion_end JSON). */
export interface EventRecording {
  clipUrl: string;
  thumbnailUrl: string;
  /** At motion end: resolves once the clip (with its post-roll) is closed, never rejects. */
  closed?: Promise<{ durationS: number; frames: number }>;
}

/** A recorded clip opened, closed or was removed (by retention or a DELETE). */
export interface ClipEvent {
  camera: Camera;
  state: 'open' | 'closed' | 'removed';
  /** The clip's id (its file name and API id). */
  id: string;
  /** The motion event it belongs to (or the continuous segment's own id). */
  eventId: string;
  kind: 'motion' | 'continuous';
  /** Unix ms of the first frame; end when closed. */
  start: number;
  end: number | undefined;
  durationS: number;
  frames: number;
  bytes: number;
  /** Paths on this bridge (/api/events/<id>/...), for the page. */
  clipPath: string;
  thumbnailPath: string;
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
  /** A clip opened, closed or was removed (the recordings sink). */
  clip: [clip: ClipEvent];
  /** A camera's recording switch changed (Camera.recording). */
  recording: [cam: Camera];
  /** Once a second, after each camera's fps and bitrate were measured. */
  stats: [];
}

export type HubEvent = keyof HubEvents;
export type HubListener<K extends HubEvent> = (...args: HubEvents[K]) => void;
