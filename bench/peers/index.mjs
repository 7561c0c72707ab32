/**
 * What bench/servers/peer-hive.ts loads from this folder's own node_modules (one module graph,
 * ESM throughout, so graphql is loaded once).
 */
export { createGatewayRuntime } from '@graphql-hive/gateway';
export { getComposedSchemaFromConfig } from '@graphql-mesh/compose-cli';
export { composeConfig } from './mesh.config.mjs';
export { gatewayConfig } from './gateway.config.mjs';
