/**
 * The four measured scenarios: their GraphQL operations, the plan the raw-HTTP ceiling follows to
 * build the same JSON without GraphQL, and the rotating request bodies sent by the load generator.
 *
 * Operations are static (the servers import `OPERATIONS` to know them); request bodies are built
 * from the synthetic demo data (subjects that have a record in every resource asked for).
 */
import type { DemoData } from '../demo/data.ts';
import type { SCENARIO_IDS } from './config.ts';

export type ScenarioId = (typeof SCENARIO_IDS)[number];
export type SystemCode = 'mz-dibao' | 'zw-yichuang';

/** One resource field under Person and the items asked of it, in selection order. */
export interface Selection {
  readonly field: string;
  readonly items: readonly string[];
}

export type Plan =
  | { readonly shape: 'person'; readonly selections: readonly Selection[] }
  | { readonly shape: 'persons'; readonly selections: readonly Selection[] }
  | { readonly shape: 'verify' };

export interface Operation {
  readonly id: ScenarioId;
  readonly title: string;
  readonly operationName: string;
  readonly system: SystemCode;
  /** The purpose code the request states. */
  readonly purpose: string;
  readonly query: string;
  readonly plan: Plan;
  /** Where `access` sits in the query text (GraphQL error locations). */
  readonly accessLocation: { readonly line: number; readonly column: number };
  /** Distinct resources read: the upstream calls a query should cost, whatever the subjects. */
  readonly distinctResources: number;
  /** Access records the hub writes per query. */
  readonly auditRecordsPerQuery: number;
  /** The refusal code the hub answers with, for the denied scenario. */
  readonly deniedCode?: string;
}

export interface Scenario extends Operation {
  /** JSON request bodies, rotated by the load generator (different subjects and case numbers). */
  readonly bodies: readonly string[];
}

export const PURPOSES = { dibao: '440000-DIBAO-001', birth: '440000-CSYJS-001', unknown: '440000-NOSUCH-999' } as const;
export const BATCH_SIZE = 50;
const VARIANTS = 16;

const ONE: readonly Selection[] = [
  { field: 'hukou', items: ['name', 'gender', 'birthDate', 'address'] },
  { field: 'vehicles', items: ['vehicleCount', 'plates'] },
  { field: 'marriage', items: ['maritalStatus', 'registeredAt', 'spouseName'] },
];
const BATCH: readonly Selection[] = [...ONE, { field: 'socialInsurance', items: ['status', 'insuredSince', 'monthlyBase'] }];
const DENIED: readonly Selection[] = [{ field: 'hukou', items: ['name', 'address'] }];

const ACCESS_VARS = '$purpose: String!, $caseId: String!, $operator: String!';
const ACCESS = 'access(purpose: $purpose, caseId: $caseId, operator: $operator)';

function selectionText(selections: readonly Selection[], indent: string): string {
  return selections.map((s) => `${indent}${s.field} { ${s.items.join(' ')} }`).join('\n');
}

function locate(query: string, needle: string): { line: number; column: number } {
  const at = query.indexOf(needle);
  const before = query.slice(0, at).split('\n');
  return { line: before.length, column: before.at(-1)!.length + 1 };
}

function operation(base: Omit<Operation, 'accessLocation'>): Operation {
  return { ...base, accessLocation: locate(base.query, 'access(') };
}

function personQuery(name: string, selections: readonly Selection[]): string {
  return `query ${name}(${ACCESS_VARS}, $id: String!) {
  ${ACCESS} {
    person(idNumber: $id) {
      idNumber
${selectionText(selections, '      ')}
    }
  }
}`;
}

const personsQuery = `query Batch(${ACCESS_VARS}, $ids: [String!]!) {
  ${ACCESS} {
    persons(idNumbers: $ids) {
      idNumber
${selectionText(BATCH, '      ')}
    }
  }
}`;

const verifyQuery = `query Verify(${ACCESS_VARS}, $resource: String!, $key: String!, $claims: Claims!) {
  ${ACCESS} {
    verify(resource: $resource, key: $key, claims: $claims) { match mismatched }
  }
}`;

export const OPERATIONS: ReadonlyMap<string, Operation> = new Map(
  [
    operation({
      id: 'one', title: 'one person × 3 resources', operationName: 'One', system: 'mz-dibao', purpose: PURPOSES.dibao,
      query: personQuery('One', ONE), plan: { shape: 'person', selections: ONE }, distinctResources: 3, auditRecordsPerQuery: 3,
    }),
    operation({
      id: 'batch', title: `persons × ${BATCH_SIZE} × 4 resources`, operationName: 'Batch', system: 'mz-dibao', purpose: PURPOSES.dibao,
      query: personsQuery, plan: { shape: 'persons', selections: BATCH }, distinctResources: 4, auditRecordsPerQuery: BATCH_SIZE * 4,
    }),
    operation({
      id: 'verify', title: 'verify (WJ-BIRTH-CERT motherIdNumber)', operationName: 'Verify', system: 'zw-yichuang', purpose: PURPOSES.birth,
      query: verifyQuery, plan: { shape: 'verify' }, distinctResources: 1, auditRecordsPerQuery: 1,
    }),
    operation({
      id: 'denied', title: 'denied (unknown purpose)', operationName: 'Denied', system: 'mz-dibao', purpose: PURPOSES.unknown,
      query: personQuery('Denied', DENIED), plan: { shape: 'person', selections: DENIED }, distinctResources: 0, auditRecordsPerQuery: 1,
      deniedCode: 'PURPOSE_INVALID',
    }),
  ].map((o) => [o.operationName, o]),
);

/** The message the hub gives for an unregistered purpose (policies/purpose.ts), for (a) and (b). */
export function unknownPurposeMessage(code: string): string {
  return `Purpose "${code}" is not a registered service item. Query \`purposes\` for the registered ones.`;
}

function body(op: Operation, variables: Record<string, unknown>): string {
  return JSON.stringify({ operationName: op.operationName, query: op.query, variables });
}

function op(id: ScenarioId): Operation {
  const found = [...OPERATIONS.values()].find((o) => o.id === id);
  if (!found) throw new Error(`no operation ${id}`);
  return found;
}

/** Scenarios with their request bodies, from the demo data. */
export function buildScenarios(data: DemoData): Scenario[] {
  // Heads of household and spouses have a record in hukou, vehicles, marriage and social insurance.
  const adults = data.persons.filter((p) => p.role === 'head' || p.role === 'spouse').map((p) => p.idNumber);
  if (adults.length < BATCH_SIZE) throw new Error(`demo data has ${adults.length} adults; need ${BATCH_SIZE}`);
  if (data.births.length === 0) throw new Error('demo data has no births to verify');
  const dibao = (i: number) => ({ purpose: PURPOSES.dibao, caseId: `DB-2026-${String(100_000 + i)}`, operator: 'mz-op-07' });
  const variants = Array.from({ length: VARIANTS }, (_, i) => i);

  const one = op('one');
  const batch = op('batch');
  const verify = op('verify');
  const denied = op('denied');
  return [
    { ...one, bodies: variants.map((i) => body(one, { ...dibao(i), id: adults[(i * 5) % adults.length] })) },
    {
      ...batch,
      bodies: variants.map((i) => body(batch, {
        ...dibao(i),
        ids: Array.from({ length: BATCH_SIZE }, (_, k) => adults[(i * 7 + k) % adults.length]),
      })),
    },
    {
      ...verify,
      bodies: variants.map((i) => {
        const birth = data.births[i % data.births.length]!;
        return body(verify, {
          purpose: PURPOSES.birth, caseId: `CSYJS-2026-${String(100_000 + i)}`, operator: 'zw-op-03',
          resource: 'WJ-BIRTH-CERT', key: birth.child, claims: { motherIdNumber: birth.mother },
        });
      }),
    },
    { ...denied, bodies: variants.map((i) => body(denied, { ...dibao(i), purpose: PURPOSES.unknown, id: adults[i % adults.length] })) },
  ];
}
