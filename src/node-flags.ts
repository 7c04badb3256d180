/**
 * Node/V8 flags cam2mqtt runs with. Every way of starting it passes them (package.json scripts, the
 * bin's shebang, the Dockerfile, deploy/cam2mqtt.service); test/launch-flags.test.ts keeps those in
 * step, and the benchmark starts cam2mqtt with them.
 *
 * --max-semi-space-size=1: a young generation of 1 MB instead of up to 16 MB. Each camera frame
 * arrives in Buffers that V8 counts as external memory; with a large young generation, scavenges are
 * rare, frame Buffers pile up between them, and V8 answers the growing external memory with full
 * mark-compact collections (every ~0.3 s at 64 VGA cameras, pausing the event loop for 5-15 ms).
 * With a small young generation, frequent, sub-millisecond scavenges free the frames first and full
 * collections stop (docs/performance.md, "Garbage collection").
 */
export const NODE_FLAGS = ['--max-semi-space-size=1'] as const;
