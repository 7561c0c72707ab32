/**
 * `GET /ready`: 200 when the hub can write evidence (MongoDB answers), else 503. The body lists
 * each department connector as up or down; a department that is down does not make the hub
 * unready (its fields fail alone), but operators see it here. `GET /health` is liveness (yoga).
 */
import { useReadinessCheck, type Plugin } from 'graphql-yoga';
import type { HubRuntime } from '../runtime.ts';

export function useReadiness(runtime: HubRuntime): Plugin {
  return useReadinessCheck({
    endpoint: '/ready',
    async check() {
      const mongodb = await runtime.db.command({ ping: 1 }).then(() => true, () => false);
      const connectors = Object.fromEntries(
        await Promise.all([...runtime.connectors.values()].map(async (c) => [c.name, await c.health().then((h) => h.ok, () => false)] as const)),
      );
      return new Response(JSON.stringify({ ready: mongodb, mongodb, connectors }), {
        status: mongodb ? 200 : 503,
        headers: { 'content-type': 'application/json' },
      });
    },
  });
}
