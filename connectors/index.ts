/**
 * Connectors (对接前置系统): the public surface of this folder. Other folders import only from here.
 */
export * from './types.ts';
export {
  registerConnectorKind, connectorKinds, connectorFactory, validateConnectorConfig, createConnector,
} from './registry.ts';
// For authors of connector kinds (README, "Adding a connector kind").
export { answerInOrder, distinctKeys, fetchInChunks, indexByKey, isRecord, throwIfCallerAborted } from './batch.ts';
export {
  restConnectorFactory, restConfigSchema, RestConnector, DEFAULT_REST_PATH, type RestConnectorConfig,
} from './rest.ts';
export { mongoConnectorFactory, mongoConfigSchema, MongoConnector, type MongoConnectorConfig } from './mongo.ts';
export {
  fileConnectorFactory, fileConfigSchema, FileConnector, type FileConnectorConfig, type FileFormat,
} from './file.ts';
export {
  ResilientConnector, CircuitOpenError, retryConfigSchema, breakerConfigSchema, type ResilienceSettings,
} from './resilience.ts';
export { hubConnectorFactory, hubConfigSchema, HubConnector, PASSED_REFUSALS, type HubConnectorConfig } from './hub.ts';
export {
  SqlConnector, type SqlDialect, type SqlSession, type SqlPool, type SqlColumn, type SqlStatement,
} from './sql.ts';
export { sqlConfigSchema, type SqlConnectorConfig, type SqlDatasetConfig, type SqlTlsConfig } from './sql-config.ts';
export { postgresConnectorFactory, postgresConfigSchema, postgresDialect } from './postgres.ts';
export { mysqlConnectorFactory, mysqlConfigSchema, mysqlDialect } from './mysql.ts';
