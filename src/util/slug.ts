/** Camera ids are slugs: lower-case a-z, 0-9, '_' and '-', as MQTT topics and HA object ids need. */
export function slugify(input: string): string {
  const s = input
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, '_')
    .replace(/^[_-]+|[_-]+$/g, '')
    .slice(0, 48);
  return s;
}

export const CAMERA_ID_RE = /^[a-z0-9][a-z0-9_-]{0,47}$/;
