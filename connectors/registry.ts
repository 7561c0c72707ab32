/**
 * The connector registry: connector kind → factory. Validates a connector config (`kind` plus the
 * kind's own properties) against the kind's JSON Schema, defaults applied, before creating it.
 *
 * Built-in kinds: `rest`, `mongodb`, `file`. Other kinds (e.g. SQL front-end databases 前置库)
 * register themselves with `registerConnectorKind`.
 */
import type { ValidateFunction } from 'ajv/dist/2020.js';
import { createAjv, toViolations, ValidationError, type Violation } from '../schema/ajv.ts';
import { isRecord } from './batch.ts';
import { fileConnectorFactory } from './file.ts';
import { mongoConnectorFactory } from './mongo.ts';
import { restConnectorFactory } from './rest.ts';
import type { Connector, ConnectorContext, ConnectorFactory } from './types.ts';

const ajv = createAjv({ useDefaults: true });
const factories = new Map<string, ConnectorFactory>();
const validators = new WeakMap<ConnectorFactory, ValidateFunction>();

/**
 * Adds a connector kind. Its config schema is compiled now, so a broken schema fails at start-up.
 * Registering the same factory twice is harmless; another factory for a taken kind is an error.
 */
export function registerConnectorKind(factory: ConnectorFactory): void {
  const { kind, configSchema } = factory;
  if (!/^[a-z][a-z0-9-]*$/.test(kind)) {
    throw new Error(`connector kind "${kind}" must be lower-case letters, digits and "-"`);
  }
  const existing = factories.get(kind);
  if (existing === factory) return;
  if (existing !== undefined) throw new Error(`connector kind "${kind}" is already registered`);
  const properties = configSchema['properties'];
  if (isRecord(properties) && Object.hasOwn(properties, 'kind')) {
    throw new Error(`connector kind "${kind}": configSchema must not declare "kind" (the registry handles it)`);
  }
  validators.set(factory, ajv.compile(configSchema));
  factories.set(kind, factory);
}

/** The registered kinds, sorted. */
export function connectorKinds(): string[] {
  return [...factories.keys()].sort();
}

export function connectorFactory(kind: string): ConnectorFactory | undefined {
  return factories.get(kind);
}

interface Checked {
  readonly violations: Violation[];
  readonly factory?: ConnectorFactory;
  /** The config without `kind`, defaults applied (a copy: the caller's object is not changed). */
  readonly settings?: Record<string, unknown>;
}

function knownKinds(): string {
  return connectorKinds().map((k) => JSON.stringify(k)).join(', ');
}

function check(where: string, config: unknown): Checked {
  if (!isRecord(config)) return { violations: [{ where, path: '', rule: 'type', message: 'must be object' }] };
  const kind = config['kind'];
  if (kind === undefined) {
    return { violations: [{ where, path: '/kind', rule: 'required', message: `is required (one of ${knownKinds()})` }] };
  }
  if (typeof kind !== 'string') return { violations: [{ where, path: '/kind', rule: 'type', message: 'must be string' }] };
  const factory = factories.get(kind);
  const validate = factory && validators.get(factory);
  if (factory === undefined || validate === undefined) {
    return {
      violations: [{ where, path: '/kind', rule: 'enum', message: `must be one of ${knownKinds()} (unknown connector kind ${JSON.stringify(kind)})` }],
    };
  }
  const settings: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(config)) {
    if (key !== 'kind') Object.defineProperty(settings, key, { value: structuredClone(value), enumerable: true, writable: true, configurable: true });
  }
  if (!validate(settings)) return { violations: toViolations(where, validate.errors), factory };
  return { violations: [], factory, settings };
}

/**
 * The violations of one connector config (`{kind, …}`), each naming `where`, the JSON path and the
 * rule. An unknown kind is one violation listing the known kinds. Does not change `config`.
 */
export function validateConnectorConfig(where: string, config: unknown): Violation[] {
  return check(where, config).violations;
}

/** Validates the config (throws ValidationError naming `connector "<name>"`) and creates the connector. */
export function createConnector(name: string, config: unknown, context: ConnectorContext): Connector {
  const { violations, factory, settings } = check(`connector "${name}"`, config);
  if (violations.length > 0 || factory === undefined || settings === undefined) throw new ValidationError(violations);
  return factory.create(name, settings, context);
}

registerConnectorKind(restConnectorFactory);
registerConnectorKind(mongoConnectorFactory);
registerConnectorKind(fileConnectorFactory);
