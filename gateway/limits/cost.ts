/**
 * Static cost of an operation, estimated before execution with graphql-query-complexity
 * (graphql 16/17), following the IBM GraphQL Cost Directives where the schema states them:
 * - a field costs its `@cost(weight: "n")`, else 1 (the catalogue sets a resource's weight with
 *   `cost`, e.g. for a slow or metered department service);
 * - a field's selection is multiplied by its list size: with `@listSize(slicingArguments: [...])`
 *   the largest of those arguments (a number, or a list's length), else its `assumedSize`; without
 *   the directive, the length of a list argument or the value of a `first` / `last` / `limit` /
 *   `take` argument; otherwise 1.
 * So `persons(idNumbers: 100 ids) { idNumber hukou { name address } }` costs 1 + 100 × 4 = 401.
 */
import { getDirectiveValues, GraphQLError, type DocumentNode, type GraphQLField, type GraphQLSchema } from 'graphql';
import { getComplexity, type ComplexityEstimator } from 'graphql-query-complexity';
import { LRUCache } from 'lru-cache';

const SLICING = new Set(['first', 'last', 'limit', 'take']);

/** The size an argument value stands for: a number, or a list's length. */
function sizeOf(value: unknown): number | undefined {
  if (Array.isArray(value)) return value.length;
  if (typeof value === 'number' && Number.isFinite(value)) return Math.max(0, Math.trunc(value));
  return undefined;
}

interface FieldCost { readonly weight: number; readonly listSize?: { readonly assumedSize?: number; readonly slicingArguments?: readonly string[] } }

/** The @cost / @listSize of a field definition, read once per field. */
function costDirectives(schema: GraphQLSchema): (field: GraphQLField<unknown, unknown>) => FieldCost {
  const cost = schema.getDirective('cost');
  const listSize = schema.getDirective('listSize');
  const memo = new WeakMap<object, FieldCost>();
  return (field) => {
    let known = memo.get(field);
    if (known) return known;
    const node = field.astNode ?? undefined;
    const weightText = cost && node ? (getDirectiveValues(cost, node)?.['weight'] as string | undefined) : undefined;
    const weight = weightText !== undefined && Number.isFinite(Number(weightText)) && Number(weightText) >= 0 ? Number(weightText) : 1;
    const sizing = listSize && node ? getDirectiveValues(listSize, node) as FieldCost['listSize'] | undefined : undefined;
    known = { weight, ...(sizing ? { listSize: sizing } : {}) };
    memo.set(field, known);
    return known;
  };
}

/** The estimator for one schema (its directives are read once per field definition). */
export function costEstimator(schema: GraphQLSchema): ComplexityEstimator {
  const directives = costDirectives(schema);
  return ({ field, args, childComplexity }) => {
    const { weight, listSize } = directives(field as GraphQLField<unknown, unknown>);
    let size = 1;
    if (listSize) {
      const sliced = (listSize.slicingArguments ?? []).map((name) => sizeOf(args[name])).filter((n): n is number => n !== undefined);
      size = sliced.length > 0 ? Math.max(...sliced) : listSize.assumedSize ?? 1;
    } else {
      for (const arg of field.args) {
        const value: unknown = args[arg.name];
        const n = Array.isArray(value) || SLICING.has(arg.name) ? sizeOf(value) : undefined;
        if (n !== undefined) size = Math.max(size, n);
      }
    }
    return weight + childComplexity * size;
  };
}

const estimators = new WeakMap<GraphQLSchema, ComplexityEstimator>();

/**
 * The operation's estimated cost, or undefined when it cannot be estimated because its variables
 * do not coerce (execution then answers BAD_USER_INPUT).
 */
export function operationCost(schema: GraphQLSchema, document: DocumentNode, variables: Record<string, unknown> | undefined, operationName: string | undefined): number | undefined {
  try {
    let estimator = estimators.get(schema);
    if (!estimator) estimators.set(schema, (estimator = costEstimator(schema)));
    return getComplexity({ schema, query: document, variables: variables ?? {}, ...(operationName ? { operationName } : {}), estimators: [estimator], maxQueryNodes: 100_000 });
  } catch (error) {
    if (error instanceof GraphQLError && /number of nodes/i.test(error.message)) return Number.POSITIVE_INFINITY;
    return undefined;
  }
}

/**
 * The shape of a request's variables as far as a cost can tell: every string stands for any
 * string (a cost counts list lengths, numbers and the booleans of @skip / @include, never what a
 * string says), so requests that differ only in identity numbers or case numbers share it.
 */
function shapeOf(variables: Record<string, unknown> | undefined, operationName: string | undefined): string | undefined {
  try {
    return `${operationName ?? ''}\u0000${JSON.stringify(variables ?? {}, (_key, value: unknown) => (typeof value === 'string' ? '' : value))}`;
  } catch {
    return undefined; // nested too deep to serialize: estimated anew (and refused by coercion)
  }
}

/** Longer shapes (thousands of list entries) are not remembered: their estimate is a small part of such a request. */
const MAX_SHAPE_CHARS = 4096;

/** A number per schema and per parsed document (yoga hands out one object per document text), for the keys below. */
const ids = new WeakMap<object, number>();
let lastId = 0;
function idOf(o: object): number {
  let id = ids.get(o);
  if (id === undefined) ids.set(o, (id = ++lastId));
  return id;
}

/** Remembered costs, by schema, document and shape of variables: bounded in entries and in characters of keys (≈ 8 MB at most). */
const remembered = new LRUCache<string, number>({ max: 20_000, maxSize: 4_000_000, sizeCalculation: (_cost, key) => key.length });

/**
 * Whether the operation's estimated cost is above `max`: the cost when it is, else undefined (within
 * `max`, or not countable because its variables do not coerce, which execution then answers with
 * BAD_USER_INPUT). Gives what `operationCost` would, without estimating every request anew: a cost
 * is remembered per document and shape of the variables (`shapeOf`), and a remembered cost within
 * `max` settles the request (its own cost is that one, or it is uncountable: both pass). A cost
 * above `max` is always estimated anew, so a refusal states the request's own estimate, and a
 * request whose variables do not coerce is still left to execution to refuse.
 */
export function costAbove(schema: GraphQLSchema, document: DocumentNode, variables: Record<string, unknown> | undefined, operationName: string | undefined, max: number): number | undefined {
  const shape = shapeOf(variables, operationName);
  const key = shape === undefined || shape.length > MAX_SHAPE_CHARS ? undefined : `${idOf(schema)}\u0000${idOf(document)}\u0000${shape}`;
  const known = key === undefined ? undefined : remembered.get(key);
  if (known !== undefined && known <= max) return undefined;
  const cost = operationCost(schema, document, variables, operationName);
  if (cost === undefined) return undefined;
  if (key !== undefined && Number.isFinite(cost)) remembered.set(key, cost);
  return cost > max ? cost : undefined;
}

export function costError(cost: number, max: number): GraphQLError {
  const estimated = Number.isFinite(cost) ? cost : null;
  return new GraphQLError(
    `The query's estimated cost is ${estimated ?? 'too high to count'}; at most ${max} is allowed. Ask for fewer subjects or fields per request.`,
    { extensions: { code: 'QUERY_TOO_COMPLEX', cost: { estimated, max } } },
  );
}
