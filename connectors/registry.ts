/**
 * The connector registry: connector kind → factory. Validates a connector config (`kind` plus the
 * kind's own properties) against the kind's JSON Schema, defaults applied, before creating it.
 *
 * Built-in kinds: `rest`, `mongodb`, `file`, the SQL front-end databases (前置库) `postgres` and
 * `mysql`, and `hub` (another region's hub). Other kinds register themselves with
 * `registerConnectorKind`.
 *
 * Common properties, the same for every kind and validated here (resilience.ts): `retry`
 * (retries, initialDelayMs, maxDelayMs), `breaker` (failures, cooldownMs), `collapse` (combine
 * concurrent requests' reads into one call; default true, always false for kinds that declare
 * `perRequest`), and `timeoutMs` for kinds whose own schema has none. Every connector created is
 * wrapped in a ResilientConnector (collapsing, per-call timeout, retries within the request's
 * deadline, circuit breaker).
 */
import type { ValidateFunction } from 'ajv/dist/2020.js';
import { createAjv, toViolations, ValidationError, type Violation } from '../schema/ajv.ts';
import { isRecord } from './batch.ts';
import { fileConnectorFactory } from './file.ts';
import { hubConnectorFactory } from './hub.ts';
import { mongoConnectorFactory } from './mongo.ts';
import { mysqlConnectorFactory } from './mysql.ts';
import { postgresConnectorFactory } from './postgres.ts';
import {
  breakerConfigSchema, collapseConfigSchema, COMMON_PROPERTIES, DEFAULT_TIMEOUT_MS, ResilientConnector, retryConfigSchema, timeoutConfigSchema,
  type ResilienceSettings,
} from './resilience.ts';
import { restConnectorFactory } from './rest.ts';
import type { ConnectorContext, ConnectorFactory } from './types.ts';

const ajv = createAjv({ useDefaults: true });
const factories = new Map<string, ConnectorFactory>();
const validators = new WeakMap<ConnectorFactory, ValidateFunction>();
/** Kinds whose own schema declares `timeoutMs` (the others get the common one). */
const ownTimeout = new WeakSet<ConnectorFactory>();
const commonValidators = {
  withTimeout: ajv.compile({
    type: 'object',
    properties: { retry: retryConfigSchema, breaker: breakerConfigSchema, collapse: collapseConfigSchema, timeoutMs: timeoutConfigSchema },
  }),
  withoutTimeout: ajv.compile({ type: 'object', properties: { retry: retryConfigSchema, breaker: breakerConfigSchema, collapse: collapseConfigSchema } }),
};

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
  for (const name of COMMON_PROPERTIES) {
    if (isRecord(properties) && Object.hasOwn(properties, name)) {
      throw new Error(`connector kind "${kind}": configSchema must not declare "${name}" (a common property the registry handles)`);
    }
  }
  validators.set(factory, ajv.compile(configSchema));
  if (isRecord(properties) && Object.hasOwn(properties, 'timeoutMs')) ownTimeout.add(factory);
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
  /** The config without `kind` and the common properties, defaults applied (a copy: the caller's object is not changed). */
  readonly settings?: Record<string, unknown>;
  /** The common properties, defaults applied. */
  readonly resilience?: ResilienceSettings;
  /** Whether concurrent reads of different requests may share one call (`collapse`). */
  readonly collapse?: boolean;
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
  const own = ownTimeout.has(factory);
  const isCommon = (key: string): boolean => (COMMON_PROPERTIES as readonly string[]).includes(key) || (!own && key === 'timeoutMs');
  const settings: Record<string, unknown> = {};
  const common: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(config)) {
    if (key === 'kind') continue;
    Object.defineProperty(isCommon(key) ? common : settings, key, { value: structuredClone(value), enumerable: true, writable: true, configurable: true });
  }
  const validateCommon = own ? commonValidators.withoutTimeout : commonValidators.withTimeout;
  const violations = [
    ...(validate(settings) ? [] : toViolations(where, validate.errors)),
    ...(validateCommon(common) ? [] : toViolations(where, validateCommon.errors)),
  ];
  if (factory.perRequest === true && config['collapse'] === true) {
    violations.push({
      where, path: '/collapse', rule: 'const',
      message: `must be false for kind "${kind}": its reads pass each request's statement on, so reads of different requests are never combined`,
    });
  }
  if (violations.length > 0) return { violations, factory };
  const timeoutMs = own ? settings['timeoutMs'] : common['timeoutMs'];
  const retrySettings = common['retry'] as ResilienceSettings['retry'];
  // A kind whose reads are not free to repeat (another hub records and charges each) sets its own default.
  const retriesGiven = isRecord(config['retry']) && config['retry']['retries'] !== undefined;
  const resilience: ResilienceSettings = {
    timeoutMs: typeof timeoutMs === 'number' ? timeoutMs : DEFAULT_TIMEOUT_MS,
    retry: factory.defaultRetries !== undefined && !retriesGiven ? { ...retrySettings, retries: factory.defaultRetries } : retrySettings,
    breaker: common['breaker'] as ResilienceSettings['breaker'],
  };
  return { violations: [], factory, settings, resilience, collapse: factory.perRequest !== true && common['collapse'] !== false };
}

/**
 * The violations of one connector config (`{kind, …}`), each naming `where`, the JSON path and the
 * rule. An unknown kind is one violation listing the known kinds. Does not change `config`.
 */
export function validateConnectorConfig(where: string, config: unknown): Violation[] {
  return check(where, config).violations;
}

/**
 * Validates the config (throws ValidationError naming `connector "<name>"`) and creates the
 * connector, wrapped in its timeout, retry and circuit-breaker policies (resilience.ts).
 */
export function createConnector(name: string, config: unknown, context: ConnectorContext): ResilientConnector {
  const { violations, factory, settings, resilience, collapse } = check(`connector "${name}"`, config);
  if (violations.length > 0 || factory === undefined || settings === undefined || resilience === undefined) throw new ValidationError(violations);
  const onCombined = context.onCombined && ((reads: number) => context.onCombined?.(name, reads));
  return new ResilientConnector(factory.create(name, settings, context), resilience, context.onEvent, context.onCall, {
    collapse: collapse === true, ...(onCombined ? { onCombined } : {}),
  });
}

registerConnectorKind(restConnectorFactory);
registerConnectorKind(mongoConnectorFactory);
registerConnectorKind(fileConnectorFactory);
registerConnectorKind(postgresConnectorFactory);
registerConnectorKind(mysqlConnectorFactory);
registerConnectorKind(hubConnectorFactory);
