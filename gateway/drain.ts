/**
 * Graceful shutdown of the HTTP server: stop accepting, let the requests in flight finish (within
 * a deadline), then close every connection. Keep-alive connections are told `Connection: close`
 * on their next response and closed as soon as they are idle, so clients move on at once.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';

export interface DrainResult {
  /** Requests still running when the deadline passed (their connections were closed). */
  readonly abandoned: number;
  readonly ms: number;
}

export interface Drainable {
  /** Requests being served right now. */
  inFlight(): number;
  /** Stops accepting, waits up to `withinMs` for in-flight requests, then closes every connection. Idempotent. */
  drain(withinMs: number): Promise<DrainResult>;
}

const IDLE_SWEEP_MS = 25;

/** Tracks `server`'s requests from now on; call before it listens. */
export function drainable(server: Server): Drainable {
  const open = new Set<ServerResponse>();
  let draining = false;
  server.on('request', (_req: IncomingMessage, res: ServerResponse) => {
    open.add(res);
    if (draining) res.shouldKeepAlive = false;
    res.once('close', () => open.delete(res));
  });
  let result: Promise<DrainResult> | undefined;
  return {
    inFlight: () => open.size,
    drain: (withinMs) => (result ??= new Promise<DrainResult>((resolve) => {
      const started = performance.now();
      draining = true;
      for (const res of open) if (!res.headersSent) res.shouldKeepAlive = false;
      let abandoned = 0;
      const closed = new Promise<void>((done) => server.close(() => done()));
      const deadline = started + withinMs;
      const sweep = setInterval(() => {
        server.closeIdleConnections();
        if (open.size > 0 && performance.now() < deadline) return;
        clearInterval(sweep);
        abandoned = open.size;
        server.closeAllConnections();
      }, IDLE_SWEEP_MS);
      void closed.then(() => {
        clearInterval(sweep);
        resolve({ abandoned, ms: Math.round(performance.now() - started) });
      });
    })),
  };
}
