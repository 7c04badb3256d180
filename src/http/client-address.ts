import type { IncomingMessage } from 'node:http';
import { BlockList, isIP } from 'node:net';

function plain(a: string): string {
  const s = a.trim();
  return s.startsWith('::ffff:') && isIP(s.slice(7)) === 4 ? s.slice(7) : s;
}

/** http.trusted_proxies (addresses or CIDR ranges) as a BlockList; throws on an entry that is neither. */
export function trustedProxies(entries: readonly string[]): BlockList {
  const list = new BlockList();
  for (const e of entries) {
    const [addr = '', bits] = e.split('/');
    const family = isIP(addr);
    if (!family) throw new Error(`http.trusted_proxies: expected an IP address or CIDR range, got "${e}"`);
    const type = family === 6 ? 'ipv6' : 'ipv4';
    if (bits === undefined) list.addAddress(addr, type);
    else list.addSubnet(addr, Number(bits), type);
  }
  return list;
}

function isTrusted(list: BlockList, addr: string): boolean {
  const family = isIP(addr);
  return family !== 0 && list.check(addr, family === 6 ? 'ipv6' : 'ipv4');
}

/**
 * Who a request comes from, for rate limits and logs: the peer address, or, when the peer is a
 * trusted proxy, the nearest untrusted address in X-Forwarded-For (read right to left: the entries
 * on the left are whatever the client wrote; the proxy appends the address it saw).
 */
export function clientAddress(req: IncomingMessage, trusted: BlockList | undefined): string {
  const peer = plain(req.socket.remoteAddress ?? '?');
  if (!trusted || !isTrusted(trusted, peer)) return peer;
  const header = req.headers['x-forwarded-for'];
  const raw = Array.isArray(header) ? header.join(',') : (header ?? '');
  const hops = raw.split(',').map(plain).filter(Boolean);
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i]!;
    if (!isTrusted(trusted, hop)) return hop.slice(0, 64);
  }
  return hops[0]?.slice(0, 64) ?? peer;
}
