import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from '../../logging.js';
import { writeFileAtomicSync } from '../../util/atomic-write.js';
import type { Preset } from './protocol.js';

export type { Preset };

export const MAX_PRESETS = 100;
const MAX_LABEL = 40;
const MAX_COMMAND = 500;

/** Work with both protocols: bridge controls, translated per camera. */
export const DEFAULT_PRESETS: Preset[] = [
  { label: 'Status', command: '/status' },
  { label: 'Lamp on', command: '/lamp on' },
  { label: 'Lamp off', command: '/lamp off' },
  { label: 'VGA', command: '/framesize VGA' },
  { label: 'SVGA', command: '/framesize SVGA' },
];

export class PresetError extends Error {}
/** The presets could not be written (full disk, read-only data dir); the previous ones are kept. */
export class PresetSaveError extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
  ) {
    super(message);
  }
}

/** Validate a presets document: an array of {label, command}, or {presets: [...]}. */
export function parsePresets(body: unknown): Preset[] {
  const list = Array.isArray(body) ? body : (body as { presets?: unknown } | null)?.presets;
  if (!Array.isArray(list)) throw new PresetError('expected a JSON array of {"label": "...", "command": "..."}');
  if (list.length > MAX_PRESETS) throw new PresetError(`at most ${MAX_PRESETS} presets, got ${list.length}`);
  return list.map((p, i) => {
    const item = p as Partial<Record<keyof Preset, unknown>> | null;
    const label = typeof item?.label === 'string' ? item.label.trim() : '';
    const command = typeof item?.command === 'string' ? item.command.trim() : '';
    if (!label || label.length > MAX_LABEL)
      throw new PresetError(`preset ${i + 1}: label must be 1-${MAX_LABEL} characters`);
    if (!command || command.length > MAX_COMMAND)
      throw new PresetError(`preset ${i + 1} ("${label}"): command must be 1-${MAX_COMMAND} characters`);
    return { label, command };
  });
}

/**
 * The page's command presets in <dataDir>/presets.json (the seed's presets.txt, as JSON). Written
 * atomically (temp file, fsync, rename) so a crash or a full disk never leaves half a file.
 */
export class PresetStore {
  private presets: Preset[];
  readonly file: string;

  constructor(
    dataDir: string,
    private readonly log: Logger,
  ) {
    this.file = path.join(dataDir, 'presets.json');
    this.presets = this.load();
  }

  private load(): Preset[] {
    if (!existsSync(this.file)) return DEFAULT_PRESETS.map((p) => ({ ...p }));
    try {
      return parsePresets(JSON.parse(readFileSync(this.file, 'utf8')));
    } catch (err) {
      this.log.warn(
        `${this.file} is not a valid presets file (${(err as Error).message}); using the default presets until they are saved again`,
      );
      return DEFAULT_PRESETS.map((p) => ({ ...p }));
    }
  }

  list(): Preset[] {
    return this.presets.map((p) => ({ ...p }));
  }

  save(presets: Preset[]): void {
    try {
      writeFileAtomicSync(this.file, `${JSON.stringify(presets, null, 2)}\n`);
    } catch (err) {
      const msg = `cannot save command presets to ${this.file}: ${(err as Error).message}; the previous presets are kept`;
      this.log.warn(msg);
      throw new PresetSaveError(msg, (err as NodeJS.ErrnoException).code);
    }
    this.presets = presets.map((p) => ({ ...p }));
    this.log.info(`saved ${presets.length} command presets to ${this.file}`);
  }
}
