/**
 * Static cost of an operation, estimated before execution with graphql-query-complexity
 * (graphql 16/17). The model, close to the IBM GraphQL cost spec's defaults:
 * - every field costs 1;
 * - a field's selection is multiplied by its list size: the length of a list argument
 *   (`persons(idNumbers: [...])`, a "slicing argument" given as a list) or the value of a
 *   `first` / `last` / `limit` / `take` argument; otherwise 1.
 * So `persons(idNumbers: 100 ids) { idNumber hukou { name address } }` costs 1 + 100 × 4 = 401.
 */
import { GraphQLError, type DocumentNode, type GraphQLSchema } from 'graphql';
import { getComplexity, type ComplexityEstimator } from 'graphql-query-complexity';

const SLICING = new Set(['first', 'last', 'limit', 'take']);

export const listSizeEstimator: ComplexityEstimator = ({ field, args, childComplexity }) => {
  let size = 1;
  for (const arg of field.args) {
    const value: unknown = args[arg.name];
    if (Array.isArray(value)) size = Math.max(size, value.length);
    else if (SLICING.has(arg.name) && typeof value === 'number' && Number.isFinite(value)) size = Math.max(size, Math.trunc(value));
  }
  return 1 + childComplexity * size;
};

/**
 * The operation's estimated cost, or undefined when it cannot be estimated because its variables
 * do not coerce (execution then answers BAD_USER_INPUT).
 */
export function operationCost(schema: GraphQLSchema, document: DocumentNode, variables: Record<string, unknown> | undefined, operationName: string | undefined): number | undefined {
  try {
    return getComplexity({ schema, query: document, variables: variables ?? {}, ...(operationName ? { operationName } : {}), estimators: [listSizeEstimator], maxQueryNodes: 100_000 });
  } catch (error) {
    if (error instanceof GraphQLError && /number of nodes/i.test(error.message)) return Number.POSITIVE_INFINITY;
    return undefined;
  }
}

export function costError(cost: number, max: number): GraphQLError {
  const estimated = Number.isFinite(cost) ? cost : null;
  return new GraphQLError(
    `The query's estimated cost is ${estimated ?? 'too high to count'}; at most ${max} is allowed. Ask for fewer subjects or fields per request.`,
    { extensions: { code: 'QUERY_TOO_COMPLEX', cost: { estimated, max } } },
  );
}
