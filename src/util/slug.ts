/** Camera ids are slugs: lower-case a-z, 0-9, '_' and '-', as MQTT topics and HA object ids need. */
export function slugify(input: string): string {
  const s = input
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, '_');
  // Trim '_' and '-' by hand: /[_-]+$/ retries from every dash of a long run (quadratic, issue 13).
  let a = 0;
  let b = s.length;
  while (a < b && (s[a] === '_' || s[a] === '-')) a++;
  while (b > a && (s[b - 1] === '_' || s[b - 1] === '-')) b--;
  return s.slice(a, b).slice(0, 48);
}

/** A valid camera id (config keys, hello ids after slugify, cameras.json): 1-48 chars a-z 0-9 _ -. */
export const CAMERA_ID_RE = /^[a-z0-9][a-z0-9_-]{0,47}$/;
