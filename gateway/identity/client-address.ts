/**
 * The client's address, for failed-authentication throttling and logs. It is the TCP peer's, unless
 * that peer is a trusted proxy (`server.trustedProxies`: addresses or CIDR ranges of the load
 * balancers in front of the hub): then it is the right-most address of `X-Forwarded-For` that is not
 * itself a trusted proxy. A client can prepend anything to X-Forwarded-For; only what the trusted
 * proxies appended counts, which is why the header is read from the right.
 */
import type { IncomingMessage } from 'node:http';
import { BlockList, isIP } from 'node:net';
import type { Plugin } from 'graphql-yoga';
import { ValidationError } from '../../schema/index.ts';

const resolved = new WeakMap<IncomingMessage, string>();

/** IPv4-mapped IPv6 (`::ffff:1.2.3.4`) as plain IPv4. */
const plain = (address: string) => (address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address);

/** A block list of the trusted proxies, or a ValidationError naming the entry that is not an address or range. */
export function trustedProxyList(entries: readonly string[]): BlockList {
  const list = new BlockList();
  entries.forEach((entry, i) => {
    const [address, bits, ...rest] = entry.split('/');
    const family = isIP(address ?? '');
    const prefix = bits === undefined ? undefined : Number(bits);
    const max = family === 4 ? 32 : 128;
    if (family === 0 || rest.length > 0 || (prefix !== undefined && (!Number.isInteger(prefix) || prefix < 0 || prefix > max || bits === ''))) {
      throw new ValidationError([{ where: 'config', path: `/server/trustedProxies/${i}`, rule: 'address', message: `"${entry}" is not an IP address or CIDR range (e.g. 10.0.0.0/8)` }]);
    }
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (prefix === undefined) list.addAddress(address!, type);
    else list.addSubnet(address!, prefix, type);
  });
  return list;
}

function trusted(list: BlockList, address: string): boolean {
  const family = isIP(address);
  return family !== 0 && list.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

/** The client address of a request as the trusted proxies report it. */
export function addressBehind(list: BlockList | undefined, peer: string, forwardedFor: string | string[] | undefined): string {
  if (!list || !trusted(list, peer) || forwardedFor === undefined) return peer;
  const hops = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor).split(',').map((h) => plain(h.trim()));
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i]!;
    if (isIP(hop) === 0) return peer; // garbage where a proxy's entry should be: trust nothing of it
    if (!trusted(list, hop)) return hop;
  }
  return hops[0] && isIP(hops[0]) !== 0 ? hops[0] : peer;
}

/** Resolves each request's client address once, first thing (register this plugin first). */
export function useClientAddress(list: BlockList | undefined): Plugin {
  return {
    onRequest({ serverContext }) {
      const req = (serverContext as { req?: IncomingMessage } | undefined)?.req;
      if (!req) return;
      const peer = plain(req.socket?.remoteAddress ?? 'unknown');
      resolved.set(req, addressBehind(list, peer, req.headers['x-forwarded-for']));
    },
  };
}

/** The client's address (see above); the socket's when no plugin resolved it. */
export function clientAddress(serverContext: unknown): string {
  const req = (serverContext as { req?: IncomingMessage } | undefined)?.req;
  if (!req) return 'unknown';
  return resolved.get(req) ?? plain(req.socket?.remoteAddress ?? 'unknown');
}
