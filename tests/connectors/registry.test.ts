import { describe, expect, it } from 'vitest';

import {
  connectorKinds, createConnector, registerConnectorKind, validateConnectorConfig,
  type Connector, type ConnectorFactory,
} from '../../connectors/index.ts';
import { ValidationError } from '../../schema/index.ts';

const context = { baseDir: process.cwd() };

describe('connector registry', () => {
  it('knows the built-in kinds', () => {
    expect(connectorKinds()).toEqual(expect.arrayContaining(['file', 'mongodb', 'mysql', 'postgres', 'rest']));
  });

  it('names an unknown kind and lists the known ones', () => {
    expect(validateConnectorConfig('connectors.yaml', { kind: 'oracle', host: 'x' })).toEqual([{
      where: 'connectors.yaml',
      path: '/kind',
      rule: 'enum',
      message: expect.stringMatching(/^must be one of "file", "hub", "mongodb", "mysql", "postgres", "rest".*unknown connector kind "oracle"/) as unknown,
    }]);
  });

  it('requires an object with a string kind', () => {
    expect(validateConnectorConfig('c.yaml', 'rest')).toEqual([expect.objectContaining({ path: '', rule: 'type' })]);
    expect(validateConnectorConfig('c.yaml', { baseUrl: 'http://x' })).toEqual([expect.objectContaining({ path: '/kind', rule: 'required' })]);
    expect(validateConnectorConfig('c.yaml', { kind: 3 })).toEqual([expect.objectContaining({ path: '/kind', rule: 'type' })]);
  });

  it('names the path and rule of each bad rest property', () => {
    const violations = validateConnectorConfig('connectors.yaml', {
      kind: 'rest', baseUrl: 'ftp://files.example', timeoutMs: 0, maxKeysPerCall: '10', headers: { 'X-A': 1 }, retries: 3,
    });
    const found = violations.map((v) => `${v.path} ${v.rule}`);
    expect(found).toEqual(expect.arrayContaining([
      '/baseUrl pattern', '/timeoutMs minimum', '/maxKeysPerCall type', '/headers/X-A type', '/retries additionalProperties',
    ]));
    expect(violations.every((v) => v.where === 'connectors.yaml')).toBe(true);
    expect(validateConnectorConfig('c.yaml', { kind: 'rest' })).toEqual([
      { where: 'c.yaml', path: '/baseUrl', rule: 'required', message: 'is required' },
    ]);
    expect(validateConnectorConfig('c.yaml', { kind: 'rest', baseUrl: 'http://h/api?x=1' })).toEqual([
      expect.objectContaining({ path: '/baseUrl', rule: 'pattern' }),
    ]);
    expect(validateConnectorConfig('c.yaml', { kind: 'rest', baseUrl: 'https://h/api', path: 'no-slash' })).toEqual([
      expect.objectContaining({ path: '/path', rule: 'pattern' }),
    ]);
    expect(validateConnectorConfig('c.yaml', { kind: 'rest', baseUrl: 'https://h', bearerTokenEnv: 'not a name' })).toEqual([
      expect.objectContaining({ path: '/bearerTokenEnv', rule: 'pattern' }),
    ]);
  });

  it('names the path and rule of bad file properties', () => {
    expect(validateConnectorConfig('c.yaml', { kind: 'file' })).toEqual([expect.objectContaining({ path: '/directory', rule: 'required' })]);
    expect(validateConnectorConfig('c.yaml', { kind: 'file', directory: 'd', format: 'xlsx' })).toEqual([
      { where: 'c.yaml', path: '/format', rule: 'enum', message: 'must be one of "csv", "jsonl"' },
    ]);
  });

  it('does not change the config it validates', () => {
    const config = { kind: 'rest', baseUrl: 'http://127.0.0.1:1' };
    expect(validateConnectorConfig('c.yaml', config)).toEqual([]);
    expect(config).toEqual({ kind: 'rest', baseUrl: 'http://127.0.0.1:1' });
  });

  it('createConnector throws a ValidationError naming the connector, path and rule', () => {
    let error: unknown;
    try {
      createConnector('hukou-api', { kind: 'rest', baseUrl: 'http://h', timeoutMs: 'soon' }, context);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).message).toBe('connector "hukou-api": /timeoutMs must be integer (rule: type)');
  });

  it('creates built-in connectors', async () => {
    const rest = createConnector('a', { kind: 'rest', baseUrl: 'http://127.0.0.1:1' }, context);
    const file = createConnector('b', { kind: 'file', directory: '.' }, context);
    const mongo = createConnector('c', { kind: 'mongodb', uri: 'mongodb://127.0.0.1:1', database: 'x' }, context);
    expect([rest.kind, file.kind, mongo.kind]).toEqual(['rest', 'file', 'mongodb']);
    await Promise.all([rest.close(), file.close(), mongo.close()]);
  });

  describe('registerConnectorKind', () => {
    const seen: Array<Record<string, unknown>> = [];
    const memory: ConnectorFactory = {
      kind: 'memory',
      configSchema: {
        type: 'object',
        additionalProperties: false,
        properties: { size: { type: 'integer', minimum: 1, default: 3 } },
      },
      create(name, config): Connector {
        seen.push(config);
        return {
          name,
          kind: 'memory',
          fetchMany: async (request) => request.keys.map(() => null),
          health: async () => ({ ok: true }),
          close: async () => undefined,
        };
      },
    };

    it('adds a kind whose config is validated with defaults applied', async () => {
      registerConnectorKind(memory);
      registerConnectorKind(memory);
      expect(connectorKinds()).toContain('memory');
      const connector = createConnector('mem', { kind: 'memory' }, context);
      expect(seen.at(-1)).toEqual({ size: 3 });
      expect(await connector.fetchMany({ dataset: 'd', keyField: 'k', keys: ['a', 'b'], items: [] })).toEqual([null, null]);
      expect(validateConnectorConfig('c.yaml', { kind: 'memory', size: 0 })).toEqual([
        expect.objectContaining({ path: '/size', rule: 'minimum' }),
      ]);
    });

    it('refuses a second factory for a taken kind', () => {
      expect(() => registerConnectorKind({ ...memory })).toThrow(/already registered/);
    });

    it('refuses a schema that declares kind', () => {
      expect(() => registerConnectorKind({
        kind: 'withkind',
        configSchema: { type: 'object', properties: { kind: { type: 'string' } } },
        create: memory.create,
      })).toThrow(/must not declare "kind"/);
    });
  });
});
