import type { MotionRegion } from '../hub/camera.js';
import type { GreyImage } from './decode.js';

export interface DetectorSettings {
  /** 1..100: higher notices smaller brightness changes. */
  sensitivity: number;
  /** Percent of the picture that must change. */
  minArea: number;
  /** Rectangles (fractions of the frame) left out of the analysis. */
  ignore?: MotionRegion[];
}

export interface Analysis {
  /** Percent of the picture that changed (in blobs of at least two cells). */
  changed: number;
  /** Whether `changed` reaches min_area. */
  motion: boolean;
  /** Bounding box of the changed blobs, fractions of the frame. */
  region: MotionRegion | undefined;
}

/** Grey-level difference a pixel must show to count as changed, from the sensitivity. */
export function pixelThreshold(sensitivity: number): number {
  return 6 + (100 - Math.max(1, Math.min(100, sensitivity))) * 0.5;
}

/**
 * Background subtraction on small greyscale frames.
 *
 * - The background is a running average of past frames (faster where nothing changed than where
 *   something did), so a parked car, or the ghost a moving object leaves, is learnt within a few
 *   analysed frames, and a moving object keeps showing up as new changes.
 * - A global brightness shift (auto exposure, lights) is subtracted before comparing.
 * - Changed pixels are counted in cells of about 1/40 of the width; a cell with a quarter of its pixels
 *   changed is changed; isolated changed cells are noise; connected ones form blobs.
 * - The frame shows motion when the blobs cover min_area percent (of the part not ignored); the region
 *   is their bounding box. Ignored rectangles (a clock overlay) never count.
 */
export class MotionDetector {
  private bg: Float32Array | undefined;
  private width = 0;
  private height = 0;
  private cellCounts: Uint16Array = new Uint16Array(0);
  private cells: Uint8Array = new Uint8Array(0);
  private labels: Int32Array = new Int32Array(0);
  private cell = 4;
  private cols = 0;
  private rows = 0;
  /** 1 for cells inside an ignored rectangle; and how many cells are analysed. */
  private ignored: Uint8Array = new Uint8Array(0);
  private active = 0;

  constructor(public settings: DetectorSettings) {}

  reset(): void {
    this.bg = undefined;
  }

  analyse(img: GreyImage): Analysis {
    const { data, width: w, height: h } = img;
    const n = w * h;
    if (!this.bg || w !== this.width || h !== this.height) {
      this.init(img);
      return { changed: 0, motion: false, region: undefined };
    }
    const bg = this.bg;
    // Global brightness shift between this frame and the background.
    let sumCur = 0;
    let sumBg = 0;
    for (let i = 0; i < n; i++) {
      sumCur += data[i]!;
      sumBg += bg[i]!;
    }
    const shift = (sumCur - sumBg) / n;
    const thr = pixelThreshold(this.settings.sensitivity);
    const cell = this.cell;
    const cols = this.cols;
    const counts = this.cellCounts;
    counts.fill(0);
    for (let y = 0; y < h; y++) {
      const row = y * w;
      const crow = Math.min(this.rows - 1, (y / cell) | 0) * cols;
      for (let x = 0; x < w; x++) {
        const i = row + x;
        const cur = data[i]!;
        const b = bg[i]!;
        const d = cur - b - shift;
        if (d > thr || d < -thr) {
          counts[crow + Math.min(cols - 1, (x / cell) | 0)]!++;
          bg[i] = b + (cur - b) * 0.1;
        } else {
          bg[i] = b + (cur - b) * 0.25;
        }
      }
    }
    // Cells with a quarter of their pixels changed.
    const need = Math.max(1, (cell * cell) >> 2);
    const cells = this.cells;
    const ignored = this.ignored;
    for (let c = 0; c < cells.length; c++) cells[c] = counts[c]! >= need && !ignored[c] ? 1 : 0;
    return this.blobs();
  }

  private init(img: GreyImage): void {
    const { data, width: w, height: h } = img;
    this.width = w;
    this.height = h;
    this.bg = Float32Array.from(data);
    this.cell = Math.max(2, Math.round(w / 40));
    this.cols = Math.ceil(w / this.cell);
    this.rows = Math.ceil(h / this.cell);
    this.cellCounts = new Uint16Array(this.cols * this.rows);
    this.cells = new Uint8Array(this.cols * this.rows);
    this.labels = new Int32Array(this.cols * this.rows);
    this.ignored = new Uint8Array(this.cols * this.rows);
    for (const r of this.settings.ignore ?? []) {
      // Cells whose centre lies in the rectangle.
      for (let cy = 0; cy < this.rows; cy++) {
        const fy = ((cy + 0.5) * this.cell) / h;
        if (fy < r.y || fy > r.y + r.h) continue;
        for (let cx = 0; cx < this.cols; cx++) {
          const fx = ((cx + 0.5) * this.cell) / w;
          if (fx >= r.x && fx <= r.x + r.w) this.ignored[cy * this.cols + cx] = 1;
        }
      }
    }
    this.active = Math.max(1, this.ignored.length - this.ignored.reduce((a, b) => a + b, 0));
  }

  /** Connected changed cells (4-neighbourhood); blobs of one cell are ignored as noise. */
  private blobs(): Analysis {
    const { cols, rows, cells, labels } = this;
    labels.fill(0);
    let changedCells = 0;
    let minX = cols,
      minY = rows,
      maxX = -1,
      maxY = -1;
    const stack: number[] = [];
    const members: number[] = [];
    let label = 0;
    for (let start = 0; start < cells.length; start++) {
      if (!cells[start] || labels[start]) continue;
      label++;
      members.length = 0;
      stack.push(start);
      labels[start] = label;
      while (stack.length) {
        const c = stack.pop()!;
        members.push(c);
        const x = c % cols;
        const y = (c / cols) | 0;
        const visit = (nc: number) => {
          if (cells[nc] && !labels[nc]) {
            labels[nc] = label;
            stack.push(nc);
          }
        };
        if (x > 0) visit(c - 1);
        if (x < cols - 1) visit(c + 1);
        if (y > 0) visit(c - cols);
        if (y < rows - 1) visit(c + cols);
      }
      if (members.length < 2) continue;
      changedCells += members.length;
      for (const c of members) {
        const x = c % cols;
        const y = (c / cols) | 0;
        if (x < minX) minX = x;
        if (x > maxX) maxX = x;
        if (y < minY) minY = y;
        if (y > maxY) maxY = y;
      }
    }
    const changed = (changedCells / this.active) * 100;
    const motion = changed >= this.settings.minArea;
    const region =
      maxX >= 0
        ? {
            x: round3(minX / cols),
            y: round3(minY / rows),
            w: round3((maxX - minX + 1) / cols),
            h: round3((maxY - minY + 1) / rows),
          }
        : undefined;
    return { changed: Math.round(changed * 100) / 100, motion, region };
  }
}

function round3(v: number): number {
  return Math.round(Math.min(1, Math.max(0, v)) * 1000) / 1000;
}
