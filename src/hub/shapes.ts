// Shapes the hub keeps and the page's protocol carries as they are. No imports: the browser code
// (src/sinks/page/web, through protocol.ts) compiles this file too.

/** A line of a camera's log. */
export interface LogEntry {
  /** Unix ms. */
  t: number;
  /** '>' sent to the camera, '<' received from it, '!' bridge note. */
  dir: '>' | '<' | '!';
  text: string;
}

/** Where the motion is, as fractions of the frame (0..1). */
export interface MotionRegion {
  x: number;
  y: number;
  w: number;
  h: number;
}
