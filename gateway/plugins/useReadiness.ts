/**
 * `GET /ready`: 200 when the hub can write evidence, else 503, within one second whatever MongoDB
 * or a department does. Ready means MongoDB answered a ping within the budget and the audit trail
 * is not failing (the last write neither failed nor missed its deadline without a success since).
 * The body lists each department connector as up or down; a department that is down does not make
 * the hub unready (its fields fail alone), but operators see it here. `GET /health` is liveness.
 */
import { useReadinessCheck, type Plugin } from 'graphql-yoga';
import type { HubRuntime } from '../runtime.ts';

/** The whole check answers within this; each probe gets a little less. */
const BUDGET_MS = 800;

function within<T>(work: (signal: AbortSignal) => Promise<T>, fallback: T): Promise<T> {
  const signal = AbortSignal.timeout(BUDGET_MS);
  return Promise.race([
    work(signal).catch(() => fallback),
    new Promise<T>((resolve) => signal.addEventListener('abort', () => resolve(fallback), { once: true })),
  ]);
}

export function useReadiness(runtime: HubRuntime): Plugin {
  const plugin = readinessCheck(runtime);
  const { onRequest } = plugin;
  if (onRequest === undefined) return plugin;
  return {
    ...plugin,
    // Yoga's check also tests a URLPattern against the URL of every request (≈ 1 % of the hub's
    // CPU under load); for the pattern {pathname: '/ready'} that is the pathname test, so only the
    // requests that can be readiness checks reach it.
    onRequest(payload) {
      if (payload.url.pathname !== '/ready') return;
      return onRequest(payload);
    },
  };
}

function readinessCheck(runtime: HubRuntime): Plugin {
  return useReadinessCheck({
    endpoint: '/ready',
    async check() {
      const [mongodb, connectors] = await Promise.all([
        within((signal) => runtime.db.command({ ping: 1 }, { signal }).then(() => true), false),
        Promise.all([...runtime.connectors.values()].map(async (c) => [c.name, await within(() => c.health().then((h) => h.ok), false)] as const)),
      ]);
      // After a failure, a successful durable probe write (outside the evidence) shows recovery,
      // so /ready turns 200 again without waiting for traffic.
      if (mongodb && runtime.audit.failingSince !== null) {
        const wrote = await within((signal) => runtime.db.collection<{ _id: string; at: Date }>('hub_state').updateOne(
          { _id: 'ready-probe' }, { $set: { at: new Date() } }, { upsert: true, writeConcern: runtime.audit.writeConcern, signal } as object,
        ).then(() => true), false);
        if (wrote) runtime.audit.failingSince = null;
      }
      const audit = runtime.audit.failingSince === null;
      const ready = mongodb && audit;
      return new Response(JSON.stringify({ ready, mongodb, audit: audit ? 'ok' : `failing since ${new Date(runtime.audit.failingSince!).toISOString()}`, connectors: Object.fromEntries(connectors) }), {
        status: ready ? 200 : 503,
        headers: { 'content-type': 'application/json' },
      });
    },
  });
}
