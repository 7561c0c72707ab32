/**
 * (d) Hive Gateway's side of the scenarios: the GraphQL Mesh operation equivalent to a scenario's
 * (one root field per REST lookup, in the schema Mesh generates from the departments' OpenAPI
 * descriptions), its rotating request bodies (same subjects as the other servers'), and the
 * mapping of its answer to (b)'s shape, for the same-data check.
 *
 * Only `one` (a person × 3 REST resources) has an equivalent: the others read MongoDB and files,
 * or need the hub's purpose semantics, which the departments' REST services do not offer.
 */
import type { Catalogue } from '../schema/index.ts';
import type { Scenario, ScenarioId } from './scenarios.ts';

export const PEER_KIND = 'hive-gateway';
export type PeerKind = typeof PEER_KIND;
export const PEER_LABEL = '(d) Hive Gateway';
/** Scenarios (d) answers. */
export const PEER_SCENARIOS: ReadonlySet<ScenarioId> = new Set<ScenarioId>(['one']);

interface Lookup {
  /** The field under Person in (b)'s answer, and the alias in (d)'s. */
  readonly field: string;
  /** The Mesh root field: operationId `{dataset}BatchLookup` of the department's description. */
  readonly rootField: string;
  readonly keyField: string;
  readonly items: readonly string[];
}

export interface PeerOperation {
  readonly operationName: string;
  readonly query: string;
  /** JSON request bodies, index for index the same subjects as the scenario's bodies. */
  readonly bodies: readonly string[];
  /** (d)'s answer to bodies[i] in (b)'s shape: {data: {access: {person: {idNumber, field: record | null}}}}. */
  toPlainShape(body: unknown, i: number): unknown;
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function lookups(scenario: Scenario, catalogue: Catalogue): Lookup[] {
  if (scenario.plan.shape !== 'person') throw new Error(`(d) has no equivalent of scenario ${scenario.id}`);
  return scenario.plan.selections.map((s) => {
    const r = catalogue.resources.find((x) => x.subject === 'person' && x.field === s.field);
    if (!r) throw new Error(`no person resource ${s.field}`);
    const connector = catalogue.connectors.find((c) => c.name === r.binding.connector);
    if (!connector || !String(connector.config.kind).endsWith('rest')) throw new Error(`${r.code} is not read over REST: (d) cannot read it`);
    return { field: s.field, rootField: `${r.binding.dataset}BatchLookup`, keyField: r.binding.keyField, items: s.items };
  });
}

/** The Mesh operation of a person scenario and its bodies. */
export function peerOperation(scenario: Scenario, catalogue: Catalogue): PeerOperation {
  const list = lookups(scenario, catalogue);
  const quote = (s: string) => JSON.stringify(s);
  const fields = list.map((l) => `  ${l.field}: ${l.rootField}(input: { keyField: ${quote(l.keyField)}, keys: [$id], items: [${l.items.map(quote).join(', ')}] }) {
    records { ${l.items.join(' ')} }
  }`);
  const query = `query ${scenario.operationName}($id: String!) {\n${fields.join('\n')}\n}`;
  const ids = scenario.bodies.map((b) => {
    const id = (JSON.parse(b) as { variables?: { id?: unknown } }).variables?.id;
    if (typeof id !== 'string') throw new Error(`scenario ${scenario.id}: a body without variables.id`);
    return id;
  });
  const bodies = ids.map((id) => JSON.stringify({ operationName: scenario.operationName, query, variables: { id } }));

  const toPlainShape = (body: unknown, i: number): unknown => {
    if (!isObject(body) || body['errors'] !== undefined || !isObject(body['data'])) return body;
    const data = body['data'];
    const person: Json = { idNumber: ids[i % ids.length] };
    for (const l of list) {
      const result = data[l.field];
      const records = isObject(result) && Array.isArray(result['records']) ? result['records'] : undefined;
      person[l.field] = records === undefined ? result : (records[0] ?? null);
    }
    return { data: { access: { person } } };
  };
  return { operationName: scenario.operationName, query, bodies, toPlainShape };
}
