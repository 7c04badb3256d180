import Database from 'better-sqlite3';
import type { MotionRegion } from '../../hub/shapes.js';

/** One clip as the index keeps it (paths are relative to recordings.dir). */
export interface ClipRow {
  id: string;
  event_id: string;
  camera: string;
  kind: 'motion' | 'continuous';
  part: number;
  /** Unix ms of the first frame. */
  start: number;
  /** Unix ms of the last frame; null while the clip is being written. */
  end: number | null;
  duration: number;
  frames: number;
  bytes: number;
  thumb_bytes: number;
  clip_path: string;
  thumb_path: string | null;
  region: MotionRegion | null;
  snapshot_seq: number | null;
  /** Frames left out: corrupt JPEGs, and frames the disk could not take in time. */
  corrupt: number;
  dropped: number;
}

interface RawRow extends Omit<ClipRow, 'region'> {
  region: string | null;
}

export interface Query {
  camera?: string;
  kind?: 'motion' | 'continuous';
  since?: number;
  until?: number;
  /** Page after this (start, id), newest first. */
  before?: { start: number; id: string };
  limit: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS clips (
  id TEXT PRIMARY KEY,
  event_id TEXT NOT NULL,
  camera TEXT NOT NULL,
  kind TEXT NOT NULL,
  part INTEGER NOT NULL DEFAULT 1,
  start INTEGER NOT NULL,
  end INTEGER,
  duration REAL NOT NULL DEFAULT 0,
  frames INTEGER NOT NULL DEFAULT 0,
  bytes INTEGER NOT NULL DEFAULT 0,
  thumb_bytes INTEGER NOT NULL DEFAULT 0,
  clip_path TEXT NOT NULL UNIQUE,
  thumb_path TEXT,
  region TEXT,
  snapshot_seq INTEGER,
  corrupt INTEGER NOT NULL DEFAULT 0,
  dropped INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS clips_start ON clips (start, id);
CREATE INDEX IF NOT EXISTS clips_camera_start ON clips (camera, start, id);
CREATE TABLE IF NOT EXISTS switches (
  camera TEXT PRIMARY KEY,
  recording INTEGER NOT NULL
);
`;

const parse = (r: RawRow): ClipRow => ({ ...r, region: r.region ? (JSON.parse(r.region) as MotionRegion) : null });

/**
 * The event index: one row per clip in SQLite (better-sqlite3, synchronous: each statement is a few
 * microseconds on a local file, fewer moving parts than a worker). WAL so readers never wait.
 */
export class ClipIndex {
  private readonly db: Database.Database;
  private readonly insertStmt: Database.Statement;
  private readonly updateStmt: Database.Statement;
  private readonly getStmt: Database.Statement;
  private readonly byPathStmt: Database.Statement;
  private readonly deleteStmt: Database.Statement;
  private readonly totalStmt: Database.Statement;

  constructor(file: string) {
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.exec(SCHEMA);
    this.insertStmt = this.db.prepare(
      `INSERT OR REPLACE INTO clips (id, event_id, camera, kind, part, start, end, duration, frames, bytes, thumb_bytes,
        clip_path, thumb_path, region, snapshot_seq, corrupt, dropped)
       VALUES (@id, @event_id, @camera, @kind, @part, @start, @end, @duration, @frames, @bytes, @thumb_bytes,
        @clip_path, @thumb_path, @region, @snapshot_seq, @corrupt, @dropped)`,
    );
    this.updateStmt = this.db.prepare(
      `UPDATE clips SET end = @end, duration = @duration, frames = @frames, bytes = @bytes, thumb_bytes = @thumb_bytes,
        corrupt = @corrupt, dropped = @dropped WHERE id = @id`,
    );
    this.getStmt = this.db.prepare('SELECT * FROM clips WHERE id = ?');
    this.byPathStmt = this.db.prepare('SELECT id FROM clips WHERE clip_path = ?');
    this.deleteStmt = this.db.prepare('DELETE FROM clips WHERE id = ?');
    this.totalStmt = this.db.prepare('SELECT COALESCE(SUM(bytes + thumb_bytes), 0) AS total, COUNT(*) AS n FROM clips');
  }

  insert(row: ClipRow): void {
    this.insertStmt.run({ ...row, region: row.region ? JSON.stringify(row.region) : null });
  }

  update(
    row: Pick<ClipRow, 'id' | 'end' | 'duration' | 'frames' | 'bytes' | 'thumb_bytes' | 'corrupt' | 'dropped'>,
  ): void {
    this.updateStmt.run(row);
  }

  get(id: string): ClipRow | undefined {
    const r = this.getStmt.get(id) as RawRow | undefined;
    return r ? parse(r) : undefined;
  }

  hasPath(clipPath: string): boolean {
    return this.byPathStmt.get(clipPath) !== undefined;
  }

  delete(id: string): boolean {
    return this.deleteStmt.run(id).changes > 0;
  }

  /** Newest first. */
  query(q: Query): ClipRow[] {
    const where: string[] = [];
    const args: Record<string, unknown> = { limit: q.limit };
    if (q.camera !== undefined) {
      where.push('camera = @camera');
      args.camera = q.camera;
    }
    if (q.kind !== undefined) {
      where.push('kind = @kind');
      args.kind = q.kind;
    }
    if (q.since !== undefined) {
      where.push('start >= @since');
      args.since = q.since;
    }
    if (q.until !== undefined) {
      where.push('start < @until');
      args.until = q.until;
    }
    if (q.before) {
      where.push('(start < @bstart OR (start = @bstart AND id < @bid))');
      args.bstart = q.before.start;
      args.bid = q.before.id;
    }
    const sql = `SELECT * FROM clips ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY start DESC, id DESC LIMIT @limit`;
    return (this.db.prepare(sql).all(args) as RawRow[]).map(parse);
  }

  /** Closed clips, oldest first (retention). */
  oldest(limit: number, olderThan = Number.MAX_SAFE_INTEGER): ClipRow[] {
    return (
      this.db
        .prepare('SELECT * FROM clips WHERE end IS NOT NULL AND start < ? ORDER BY start ASC, id ASC LIMIT ?')
        .all(olderThan, limit) as RawRow[]
    ).map(parse);
  }

  /** Clips still marked as being written (after a crash: to be repaired). */
  open(): ClipRow[] {
    return (this.db.prepare('SELECT * FROM clips WHERE end IS NULL').all() as RawRow[]).map(parse);
  }

  totals(): { bytes: number; clips: number } {
    const r = this.totalStmt.get() as { total: number; n: number };
    return { bytes: r.total, clips: r.n };
  }

  switches(): Map<string, boolean> {
    const rows = this.db.prepare('SELECT camera, recording FROM switches').all() as {
      camera: string;
      recording: number;
    }[];
    return new Map(rows.map((r) => [r.camera, r.recording === 1]));
  }

  setSwitch(camera: string, on: boolean): void {
    this.db
      .prepare(
        'INSERT INTO switches (camera, recording) VALUES (?, ?) ON CONFLICT(camera) DO UPDATE SET recording = excluded.recording',
      )
      .run(camera, on ? 1 : 0);
  }

  close(): void {
    this.db.close();
  }
}
