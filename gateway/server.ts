/**
 * The GraphQL gateway: graphql-yoga with the hub's plugins, served by node:http.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createYoga, type YogaServerInstance } from 'graphql-yoga';
import type { HubContext } from './context.ts';
import { drainable } from './drain.ts';
import { useAuditEndpoints } from './plugins/useAuditEndpoints.ts';
import { useAuthentication } from './plugins/useAuthentication.ts';
import { useErrorCodes } from './plugins/useErrorCodes.ts';
import { useReadiness } from './plugins/useReadiness.ts';
import { useLimits } from './plugins/useLimits.ts';
import { useQualityFlags } from './plugins/useQualityFlags.ts';
import { useObservability } from './plugins/useObservability.ts';
import { useRequestId } from './plugins/useRequestId.ts';
import { useSchemaExposure } from './plugins/useSchemaExposure.ts';
import { useTrustedDocuments } from './plugins/useTrustedDocuments.ts';
import { RateLimits } from './limits/rateLimits.ts';
import { loadTrustedDocuments } from './limits/trustedDocuments.ts';
import type { HubRuntime } from './runtime.ts';
import { schemaFor } from './schema.ts';

export interface HubServer {
  readonly yoga: YogaServerInstance<Record<string, unknown>, HubContext>;
  readonly server: Server;
  /** Listens on the configured host and port (0 = any free port); resolves with the GraphQL URL. */
  listen(): Promise<string>;
  close(): Promise<void>;
}

export function createHubServer(runtime: HubRuntime): HubServer {
  const { logger, config } = runtime;
  // Abuse and limits (README "Abuse and limits"): rate limits, trusted documents, schema exposure.
  const trusted = config.trustedDocuments.mode !== 'off' ? loadTrustedDocuments(config.trustedDocuments.file!) : undefined;
  const rate = new RateLimits(config.limits.rate, { client: runtime.client, database: config.mongodb.database, logger });
  const yoga = createYoga<Record<string, unknown>, HubContext>({
    // A factory: when the catalogue changes, the next request gets the regenerated schema.
    schema: () => schemaFor(runtime.catalogue),
    graphqlEndpoint: '/graphql',
    graphiql: config.server.graphiql
      ? { title: '一网共享 data-sharing hub', headers: JSON.stringify({ Authorization: 'Bearer <token>' }) }
      : false,
    landingPage: false,
    maskedErrors: true,
    // useLimits enforces the body size from Content-Length without a stream per request.
    maxRequestBodySize: false,
    logging: {
      debug: (...args: unknown[]) => logger.debug({ args: args.map(String) }, 'yoga'),
      info: (...args: unknown[]) => logger.info({ args: args.map(String) }, 'yoga'),
      warn: (...args: unknown[]) => logger.warn({ args: args.map(String) }, 'yoga'),
      error: (...args: unknown[]) => logger.error({ err: args[0] }, 'unexpected error while serving a request'),
    },
    healthCheckEndpoint: '/health',
    plugins: [useRequestId(), useObservability(runtime), useReadiness(runtime), useAuditEndpoints(runtime), useLimits(config.limits), useAuthentication(runtime, rate),
      ...(trusted ? [useTrustedDocuments(config.trustedDocuments.mode, trusted, logger)] : []), useSchemaExposure(config.server.introspection), useErrorCodes(), useQualityFlags()],
  });
  const server = createServer(yoga);
  server.keepAliveTimeout = 65_000;
  const requests = drainable(server);

  return {
    yoga,
    server,
    listen: () =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(config.server.port, config.server.host, () => {
          server.off('error', reject);
          const { port, address } = server.address() as AddressInfo;
          const host = address.includes(':') ? `[${address}]` : address;
          resolve(`http://${host}:${port}/graphql`);
        });
      }),
    // Stops accepting; in-flight requests get `server.drainSeconds` to finish (gateway/drain.ts).
    close: async () => {
      const { abandoned, ms } = await requests.drain(config.server.drainSeconds * 1000);
      if (abandoned > 0) logger.warn({ abandoned, drainSeconds: config.server.drainSeconds }, 'requests still running at the drain deadline were cut off');
      else logger.info({ ms }, 'HTTP server drained');
      await rate.close();
    },
  };
}
