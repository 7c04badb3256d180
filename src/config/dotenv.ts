import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'dotenv';
import { CAMERA_ID_RE } from '../util/slug.js';

/**
 * Users of the DIY Security Camera Server seed (securityCam's Flask relay) keep their `.env`:
 *
 *   HTTP_AUTH_USERNAME=exampleUser          -> http.auth.username (the page, API and streams)
 *   HTTP_AUTH_PASSWORD=longNicePassword     -> http.auth.password
 *   CAM_URL=http://<ip>/mjpeg               -> cameras.<id>.mjpeg_url
 *   SERVO_URL=http://<ip>:81/control_servo  -> cameras.<id>.servo_url
 *
 * <id> is `securitycam` unless CAM_ID says otherwise. The `.env` in the working directory is read; the
 * same keys set in the real environment win over the file (as with dotenv). CAM2MQTT_* lines in the
 * file are passed on as environment settings (without replacing real environment variables).
 */
export const SEED_KEYS = ['HTTP_AUTH_USERNAME', 'HTTP_AUTH_PASSWORD', 'CAM_URL', 'SERVO_URL', 'CAM_ID'] as const;
export const DEFAULT_SEED_CAMERA_ID = 'securitycam';

export interface DotenvResult {
  /** The .env file read, if there was one. */
  file: string | undefined;
  /** Settings as dotted paths for loadConfig({ overrides }). */
  overrides: Record<string, string>;
  /** CAM2MQTT_* variables from the file that the real environment does not set: merge under process.env. */
  env: Record<string, string>;
  /** What was applied, for the startup log (never contains a password). */
  log: string[];
  /** Problems worth a warning (a key that could not be used). */
  warnings: string[];
}

const isHttpUrl = (s: string) => {
  try {
    const u = new URL(s);
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    return false;
  }
};

export function readDotenv(cwd: string, env: NodeJS.ProcessEnv = process.env): DotenvResult {
  const out: DotenvResult = { file: undefined, overrides: {}, env: {}, log: [], warnings: [] };
  const file = path.join(cwd, '.env');
  let vars: Record<string, string> = {};
  if (existsSync(file)) {
    try {
      vars = parse(readFileSync(file));
      out.file = file;
    } catch (err) {
      out.warnings.push(`cannot read ${file}: ${(err as Error).message}`);
    }
  }
  const from: Record<string, 'file' | 'environment'> = {};
  const seed: Partial<Record<(typeof SEED_KEYS)[number], string>> = {};
  for (const k of SEED_KEYS) {
    const v = env[k] ?? vars[k];
    if (v === undefined || v.trim() === '') continue;
    seed[k] = v.trim();
    from[k] = env[k] !== undefined ? 'environment' : 'file';
  }
  for (const [k, v] of Object.entries(vars)) {
    if (k.startsWith('CAM2MQTT_') && env[k] === undefined) out.env[k] = v;
  }
  const where = (keys: string[]) => {
    const f = keys.filter((k) => from[k] === 'file');
    const e = keys.filter((k) => from[k] === 'environment');
    return [f.length ? `${f.join(', ')} from ${file}` : '', e.length ? `${e.join(', ')} from the environment` : '']
      .filter(Boolean)
      .join(' and ');
  };

  const user = seed.HTTP_AUTH_USERNAME;
  const pass = seed.HTTP_AUTH_PASSWORD;
  if (user !== undefined && pass !== undefined) {
    out.overrides['http.auth.username'] = user;
    out.overrides['http.auth.password'] = pass;
    out.log.push(
      `${where(['HTTP_AUTH_USERNAME', 'HTTP_AUTH_PASSWORD'])}: page, API and stream login for user "${user}" (http.auth)`,
    );
  } else if (user !== undefined || pass !== undefined) {
    out.warnings.push(
      `${user !== undefined ? 'HTTP_AUTH_USERNAME' : 'HTTP_AUTH_PASSWORD'} is set without ${user !== undefined ? 'HTTP_AUTH_PASSWORD' : 'HTTP_AUTH_USERNAME'}: no login configured from it`,
    );
  }

  const id = (seed.CAM_ID ?? DEFAULT_SEED_CAMERA_ID).toLowerCase();
  if (!CAMERA_ID_RE.test(id)) {
    out.warnings.push(
      `CAM_ID ${JSON.stringify(seed.CAM_ID)} is not a valid camera id (1-48 chars of a-z, 0-9, _ or -): CAM_URL and SERVO_URL ignored`,
    );
    return out;
  }
  const cam = seed.CAM_URL;
  if (cam !== undefined) {
    if (isHttpUrl(cam)) {
      out.overrides[`cameras.${id}.mjpeg_url`] = cam;
      out.log.push(`${where(['CAM_URL'])}: camera "${id}" pulled from ${redact(cam)} (cameras.${id}.mjpeg_url)`);
    } else {
      out.warnings.push(`CAM_URL ${JSON.stringify(cam)} is not an http:// URL: ignored`);
    }
  }
  const servo = seed.SERVO_URL;
  if (servo !== undefined) {
    if (isHttpUrl(servo)) {
      out.overrides[`cameras.${id}.servo_url`] = servo;
      if (cam === undefined)
        out.warnings.push(
          `SERVO_URL is set without CAM_URL: camera "${id}" needs CAM_URL (or cameras.${id}.mjpeg_url in the settings file) for its servos to be used`,
        );
      out.log.push(
        `${where(['SERVO_URL'])}: pan/tilt for camera "${id}" through ${redact(servo)} (cameras.${id}.servo_url)`,
      );
    } else {
      out.warnings.push(`SERVO_URL ${JSON.stringify(servo)} is not an http:// URL: ignored`);
    }
  }
  if (out.env && Object.keys(out.env).length)
    out.log.push(`${file}: ${Object.keys(out.env).join(', ')} applied as environment settings`);
  return out;
}

/** http://user:secret@host/x -> http://user:***@host/x */
function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url;
  }
}
