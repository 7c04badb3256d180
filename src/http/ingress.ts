import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';

/** The header Home Assistant's ingress proxy adds: the path prefix the browser sees (/api/hassio_ingress/<token>). */
export const INGRESS_PATH_HEADER = 'x-ingress-path';

/** A plain path: segments of URL-safe characters, no `..`, no `//`, no scheme or host, at most 256 characters. */
const PREFIX = /^(?:\/[A-Za-z0-9._~-]+)+\/?$/;

function plain(a: string): string {
  const s = a.trim().toLowerCase();
  return s.startsWith('::ffff:') && isIP(s.slice(7)) === 4 ? s.slice(7) : s;
}

/**
 * Home Assistant ingress (http.ingress_gateway): HA's proxy (the Supervisor, 172.30.32.2 on HA OS)
 * has already authenticated the user, connects from the gateway's address and names the prefix the
 * page lives under in X-Ingress-Path. Only a request whose TCP peer is the gateway (never a forwarded-for
 * header: anyone can write one) and that carries a valid X-Ingress-Path counts as coming through ingress.
 */
export class Ingress {
  private readonly gateway: string | undefined;

  constructor(gateway: string | undefined) {
    this.gateway = gateway ? plain(gateway) : undefined;
  }

  get enabled(): boolean {
    return this.gateway !== undefined;
  }

  /** The ingress prefix without a trailing slash ('' for '/'), or undefined if the request did not come through ingress. */
  prefixOf(req: IncomingMessage): string | undefined {
    if (this.gateway === undefined) return undefined;
    if (plain(req.socket.remoteAddress ?? '') !== this.gateway) return undefined;
    const h = req.headers[INGRESS_PATH_HEADER];
    if (typeof h !== 'string' || h.length > 256) return undefined;
    if (h === '/') return '';
    if (!PREFIX.test(h) || h.split('/').some((seg) => seg === '.' || seg === '..')) return undefined;
    return h.replace(/\/$/, '');
  }
}
