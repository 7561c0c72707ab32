/**
 * Connectors (对接前置系统): the public surface of this folder. Other folders import only from here.
 */
export * from './types.ts';
export {
  registerConnectorKind, connectorKinds, connectorFactory, validateConnectorConfig, createConnector,
} from './registry.ts';
export {
  restConnectorFactory, restConfigSchema, RestConnector, DEFAULT_REST_PATH, type RestConnectorConfig,
} from './rest.ts';
export { mongoConnectorFactory, mongoConfigSchema, MongoConnector, type MongoConnectorConfig } from './mongo.ts';
export {
  fileConnectorFactory, fileConfigSchema, FileConnector, type FileConnectorConfig, type FileFormat,
} from './file.ts';
