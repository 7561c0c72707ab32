/**
 * The GraphQL gateway: graphql-yoga with the hub's plugins, served by node:http, or node:https
 * (with mutual TLS when a client CA is configured; gateway/identity/tls.ts).
 */
import { createServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { createYoga, type YogaServerInstance } from 'graphql-yoga';
import type { HubContext } from './context.ts';
import { drainable } from './drain.ts';
import { useAuditEndpoints } from './plugins/useAuditEndpoints.ts';
import { useAuthentication } from './plugins/useAuthentication.ts';
import { useConsole } from './plugins/useConsole.ts';
import { useErrorCodes } from './plugins/useErrorCodes.ts';
import { useErrorResponses } from './plugins/useErrorResponses.ts';
import { useReadiness } from './plugins/useReadiness.ts';
import { useLimits } from './plugins/useLimits.ts';
import { useQualityFlags } from './plugins/useQualityFlags.ts';
import { useObservability } from './plugins/useObservability.ts';
import { useRequestId } from './plugins/useRequestId.ts';
import { useSchemaExposure } from './plugins/useSchemaExposure.ts';
import { useTrustedDocuments } from './plugins/useTrustedDocuments.ts';
import { trustedProxyList, useClientAddress } from './identity/client-address.ts';
import { createIdentifier } from './identity/identify.ts';
import { issuerViolations, JwtVerifier } from './identity/jwt.ts';
import { httpsOptions, readTlsMaterial } from './identity/tls.ts';
import { RateLimits } from './limits/rateLimits.ts';
import { loadTrustedDocuments } from './limits/trustedDocuments.ts';
import type { HubRuntime } from './runtime.ts';
import { schemaFor } from './schema.ts';

export interface HubServer {
  readonly yoga: YogaServerInstance<Record<string, unknown>, HubContext>;
  readonly server: Server;
  /** Listens on the configured host and port (0 = any free port); resolves with the GraphQL URL. */
  listen(): Promise<string>;
  /**
   * Re-reads the credential files (SIGHUP): the TLS certificate, key and client CA (new connections
   * use them; open ones keep theirs), JWKS files and the trusted documents. On an error the previous
   * ones stay in use.
   */
  reloadCredentials(): Promise<void>;
  close(): Promise<void>;
}

export async function createHubServer(runtime: HubRuntime): Promise<HubServer> {
  const { logger, config } = runtime;
  const tls = config.server.tls;
  const tlsMaterial = tls ? await readTlsMaterial(tls) : undefined;
  const issuerProblem = issuerViolations(config.auth.jwt.issuers, runtime.catalogue);
  if (issuerProblem) throw issuerProblem;
  const jwt = config.auth.jwt.issuers.length > 0 ? await JwtVerifier.create(config.auth.jwt.issuers) : undefined;
  const bound = runtime.catalogue.systems.filter((s) => (s.certificates?.length ?? 0) > 0).map((s) => s.code);
  if (bound.length > 0 && !tls?.clientCaFile) {
    logger.warn({ systems: bound }, 'systems are bound to client certificates but server.tls.clientCaFile is not set: they cannot authenticate');
  }
  const proxies = config.server.trustedProxies.length > 0 ? trustedProxyList(config.server.trustedProxies) : undefined;
  const identify = createIdentifier({ authenticator: runtime.authenticator, jwt, catalogue: () => runtime.catalogue, auth: config.auth });
  // Abuse and limits (README "Abuse and limits"): rate limits, trusted documents, schema exposure.
  let trusted = config.trustedDocuments.mode !== 'off' ? loadTrustedDocuments(config.trustedDocuments.file!) : undefined;
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
    plugins: [useClientAddress(proxies), useRequestId(), useObservability(runtime), useReadiness(runtime), useConsole(runtime, { ...config.console, rate }), useAuditEndpoints(runtime, identify, rate), useLimits(config.limits), useAuthentication(runtime, identify, rate),
      ...(trusted ? [useTrustedDocuments(config.trustedDocuments.mode, () => trusted!, logger)] : []), useSchemaExposure(config.server.introspection), useErrorCodes(), useQualityFlags(), useErrorResponses()],
  });
  // Slow clients (slowloris): the header section within `server.headersTimeoutSeconds`, the whole
  // request within `server.requestTimeoutSeconds` (408 and closed), checked every second (Node's
  // defaults: 60 s and 300 s, checked every 30 s). Only receiving the request is bounded: the
  // department calls have their own deadline (limits.upstreamDeadlineMs).
  const slowClients = {
    headersTimeout: config.server.headersTimeoutSeconds * 1000,
    requestTimeout: config.server.requestTimeoutSeconds * 1000,
    connectionsCheckingInterval: 1000,
  };
  const server: Server = tls && tlsMaterial ? createHttpsServer({ ...httpsOptions(tls, tlsMaterial), ...slowClients }, yoga) : createServer(slowClients, yoga);
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
          resolve(`${tls ? 'https' : 'http'}://${host}:${port}/graphql`);
        });
      }),
    async reloadCredentials() {
      if (tls) {
        const material = await readTlsMaterial(tls);
        (server as unknown as { setSecureContext(options: object): void }).setSecureContext(material);
        logger.info({ clientCa: tls.clientCaFile !== undefined }, 'TLS certificate, key and client CA reloaded');
      }
      if (jwt) {
        await jwt.reload();
        logger.info({ issuers: config.auth.jwt.issuers.length }, 'JWT key sets reloaded');
      }
      if (trusted) {
        trusted = loadTrustedDocuments(config.trustedDocuments.file!);
        logger.info({ file: config.trustedDocuments.file }, 'trusted documents reloaded');
      }
    },
    // Stops accepting; in-flight requests get `server.drainSeconds` to finish (gateway/drain.ts).
    close: async () => {
      const { abandoned, ms } = await requests.drain(config.server.drainSeconds * 1000);
      if (abandoned > 0) logger.warn({ abandoned, drainSeconds: config.server.drainSeconds }, 'requests still running at the drain deadline were cut off');
      else logger.info({ ms }, 'HTTP server drained');
      await rate.close();
    },
  };
}
