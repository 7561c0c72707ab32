import { buildSchema, parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../gateway/config.ts';
import { costAbove, operationCost } from '../../gateway/limits/cost.ts';
import { documentHash, parseTrustedDocuments } from '../../gateway/limits/trustedDocuments.ts';
import { loadHubCatalogue } from '../../gateway/runtime.ts';
import { buildTypeDefs, ValidationError } from '../../schema/index.ts';
import { DEMO_CATALOGUE } from '../support/hub.ts';

const base = { mongodb: { uri: 'mongodb://127.0.0.1:27017' }, catalogue: 'catalogue' };

describe('abuse and limits config', () => {
  it('defaults: memory store, failed-auth throttling on, no request limits, introspection and GraphiQL off', () => {
    const c = parseConfig(base, 'hub.yaml', '/etc/hub', {});
    expect(c.limits.rate).toEqual({ store: 'memory', keyPrefix: 'yiwang-hub', deadlineMs: 250, onStoreFailure: 'local', failedAuth: { points: 20, durationSeconds: 60 } });
    expect(c.limits.maxCost).toBe(5000);
    expect(c.server.introspection).toBe('off');
    expect(c.server.graphiql).toBe(false);
    expect(c.trustedDocuments).toEqual({ mode: 'off' });
  });

  it('needs a Redis URL for store redis; REDIS_URL provides it', () => {
    const raw = { ...base, limits: { rate: { store: 'redis' } } };
    expect(() => parseConfig(raw, 'hub.yaml', '/etc/hub', {})).toThrow(/\/limits\/rate\/redisUrl/);
    expect(parseConfig(raw, 'hub.yaml', '/etc/hub', { REDIS_URL: 'redis://r:6379' }).limits.rate.redisUrl).toBe('redis://r:6379');
  });

  it('needs a file for trusted documents and resolves it against the config directory', () => {
    expect(() => parseConfig({ ...base, trustedDocuments: { mode: 'enforce' } }, 'hub.yaml', '/etc/hub', {})).toThrow(/\/trustedDocuments\/file/);
    expect(parseConfig({ ...base, trustedDocuments: { mode: 'log', file: 'trusted.yaml' } }, 'hub.yaml', '/etc/hub', {}).trustedDocuments).toEqual({ mode: 'log', file: '/etc/hub/trusted.yaml' });
  });

  it('names a bad rate window', () => {
    expect(() => parseConfig({ ...base, limits: { rate: { perSystem: { points: 0, durationSeconds: 60 } } } }, 'hub.yaml', '/etc/hub', {})).toThrow(/perSystem\/points/);
  });
});

describe('operation cost', () => {
  const schema = buildSchema(`
    type Query { person(idNumber: String!): Person  persons(idNumbers: [String!]!): [Person!]!  grants(first: Int): [Grant!]! }
    type Person { idNumber: String  hukou: Hukou }
    type Hukou { name: String  address: String }
    type Grant { id: ID }
  `);
  const cost = (q: string, variables?: Record<string, unknown>) => operationCost(schema, parse(q), variables, undefined);

  it('counts one per field', () => {
    expect(cost('{ person(idNumber: "x") { idNumber hukou { name address } } }')).toBe(5);
  });
  it('multiplies a selection by the length of a list argument, literal or variable', () => {
    expect(cost('{ persons(idNumbers: ["a", "b", "c"]) { idNumber hukou { name } } }')).toBe(1 + 3 * 3);
    expect(cost('query ($ids: [String!]!) { persons(idNumbers: $ids) { idNumber } }', { ids: Array(40).fill('x') })).toBe(41);
  });
  it('multiplies by a slicing argument', () => {
    expect(cost('{ grants(first: 25) { id } }')).toBe(26);
  });
  it('counts fragments and skips @skip(if: true)', () => {
    expect(cost('{ person(idNumber: "x") { ...P hukou @skip(if: true) { name } } } fragment P on Person { idNumber }')).toBe(2);
  });
  it('follows @cost and @listSize where the schema states them', () => {
    const directed = buildSchema(`
      directive @cost(weight: String!) on FIELD_DEFINITION
      directive @listSize(assumedSize: Int, slicingArguments: [String!], sizedFields: [String!], requireOneSlicingArgument: Boolean = true) on FIELD_DEFINITION
      type Query {
        persons(idNumbers: [String!]!, extra: [String!]): [Person] @listSize(slicingArguments: ["idNumbers"])
        recent: [Person] @listSize(assumedSize: 20)
        face(idNumber: String!): Face @cost(weight: "10")
      }
      type Person { idNumber: String  face: Face @cost(weight: "5") }
      type Face { photo: String }
    `);
    const costOf = (q: string) => operationCost(directed, parse(q), {}, undefined);
    // Only the slicing argument sizes the list, not every list argument.
    expect(costOf('{ persons(idNumbers: ["a", "b"], extra: ["1", "2", "3", "4"]) { idNumber face { photo } } }')).toBe(1 + 2 * (1 + (5 + 1)));
    expect(costOf('{ recent { idNumber } }')).toBe(1 + 20 * 1);
    expect(costOf('{ face(idNumber: "x") { photo } }')).toBe(10 + 1);
  });
  it("weighs a catalogue resource's field by its `cost`, and sizes persons by idNumbers, in the generated schema", async () => {
    const catalogue = await loadHubCatalogue(DEMO_CATALOGUE, {});
    const resources = catalogue.resources.map((r) => (r.field === 'facePhoto' ? { ...r, cost: 50 } : r));
    const generated = buildSchema(buildTypeDefs({ resources }));
    const q = '{ access(purpose: "p", caseId: "c", operator: "o") { persons(idNumbers: ["a", "b", "c"]) { idNumber facePhoto { photo } hukou { name } } } }';
    expect(operationCost(generated, parse(q), {}, undefined)).toBe(1 + 1 + 3 * (1 + (50 + 1) + (1 + 1)));
  });
  it('cannot estimate an operation whose variables do not coerce', () => {
    expect(cost('query ($ids: [String!]!) { persons(idNumbers: $ids) { idNumber } }', { ids: 42 })).toBeUndefined();
  });
});

describe('cost check remembered per shape of the variables', () => {
  const schema = buildSchema(`
    enum Kind { PERSON ENTERPRISE }
    type Query { persons(idNumbers: [String!]!, kind: Kind): [Person!]! }
    type Person { idNumber: String  hukou: Hukou }
    type Hukou { name: String }
  `);
  const doc = parse('query ($ids: [String!]!, $kind: Kind, $skip: Boolean!) { persons(idNumbers: $ids, kind: $kind) { idNumber hukou @skip(if: $skip) { name } } }');
  const above = (variables: Record<string, unknown>, max: number) => costAbove(schema, doc, variables, undefined, max);

  it('tells other list lengths and @skip booleans apart, while the identity numbers differ freely', () => {
    expect(above({ ids: ['440106199001011234'], kind: 'PERSON', skip: false }, 10)).toBeUndefined(); // 1 + 1 × 3
    expect(above({ ids: ['440106199001015678'], kind: 'PERSON', skip: false }, 3)).toBe(4);
    expect(above({ ids: Array(5).fill('x'), kind: 'PERSON', skip: false }, 10)).toBe(16);
    expect(above({ ids: Array(5).fill('x'), kind: 'PERSON', skip: true }, 10)).toBeUndefined(); // 1 + 5 × 1
    expect(above({ ids: Array(5).fill('y'), kind: 'PERSON', skip: false }, 10)).toBe(16);
  });

  it('leaves a request whose variables do not coerce to execution, though a valid one of its shape was refused', () => {
    expect(above({ ids: Array(5).fill('x'), kind: 'PERSON', skip: false }, 10)).toBe(16);
    // Same shape (strings stand for any string), but NOBODY is no Kind: not countable, so not refused here.
    expect(above({ ids: Array(5).fill('x'), kind: 'NOBODY', skip: false }, 10)).toBeUndefined();
  });

  it('does not take a string for a number: a scalar that accepts both sizes a list differently', () => {
    const loose = buildSchema(`
      directive @listSize(assumedSize: Int, slicingArguments: [String!]) on FIELD_DEFINITION
      scalar Any
      type Query { recent(limit: Any): [Person] @listSize(assumedSize: 20, slicingArguments: ["limit"]) }
      type Person { idNumber: String }
    `);
    const q = parse('query ($n: Any) { recent(limit: $n) { idNumber } }');
    expect(costAbove(loose, q, { n: 0 }, undefined, 10)).toBeUndefined(); // 1 + 0 × 1
    expect(costAbove(loose, q, { n: 'x' }, undefined, 10)).toBe(21); // not a size: the assumed 20
  });

  it('answers variables nested too deep to serialize without throwing (execution refuses them)', () => {
    let deep: unknown = 'x';
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(above({ ids: deep, kind: 'PERSON', skip: false }, 10)).toBeUndefined();
  });

  it('does not remember an uncountable request: a valid one of its shape is still counted', () => {
    const fresh = parse('query ($ids: [String!]!, $kind: Kind) { persons(idNumbers: $ids, kind: $kind) { idNumber } }');
    expect(costAbove(schema, fresh, { ids: Array(9).fill('x'), kind: 'NOBODY' }, undefined, 5)).toBeUndefined();
    expect(costAbove(schema, fresh, { ids: Array(9).fill('x'), kind: 'PERSON' }, undefined, 5)).toBe(10);
  });
});

describe('trusted documents catalogue', () => {
  const doc = 'query Ping { __typename }';
  it('maps systems to the hashes of their documents', () => {
    const trusted = parseTrustedDocuments({ documents: { [documentHash(doc)]: doc }, systems: { 'mz-dibao': [documentHash(doc)] } }, 'trusted.yaml');
    expect(trusted.text(documentHash(doc))).toBe(doc);
    expect(trusted.allowed('mz-dibao', documentHash(doc))).toBe(true);
    expect(trusted.allowed('zw-yichuang', documentHash(doc))).toBe(false);
  });
  it('refuses a hash that is not its text\'s and a system entry naming an unknown hash', () => {
    const wrong = 'b'.repeat(64);
    try {
      parseTrustedDocuments({ documents: { [wrong]: doc }, systems: { 'mz-dibao': ['c'.repeat(64)] } }, 'trusted.yaml');
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as Error).message).toContain(`is not the SHA-256 of its text (that is ${documentHash(doc)})`);
      expect((error as Error).message).toContain('/systems/mz-dibao/0');
    }
  });
});
