/**
 * (d) of the benchmark: Hive Gateway's settings, as `hive-gateway` reads them (export
 * `gatewayConfig`), over the supergraph composed from mesh.config.mjs. Defaults otherwise: no
 * built-in plugins (no JWT, rate limiting, response cache or telemetry), batching of subgraph
 * requests as the runtime does by default. By hand:
 *
 *     npx --prefix bench/peers hive-gateway supergraph supergraph.graphql --host 127.0.0.1 -c bench/peers/gateway.config.mjs
 */
import { defineConfig } from '@graphql-hive/gateway';

export const gatewayConfig = defineConfig({
  graphqlEndpoint: '/graphql',
  graphiql: false,
  landingPage: false,
  logging: 'error',
});
