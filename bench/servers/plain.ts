/**
 * (b) The plain gateway: graphql-yoga with the hub's schema (buildTypeDefs from the catalogue) and
 * the same connectors behind per-request DataLoaders (one batched call per resource and item set),
 * but no authentication, no purpose check, no policy, no masking, no record validation, no audit.
 *
 * Unknown purpose: the same GraphQL error the hub raises (a map lookup, no audit record).
 */
import { createServer, type Server } from 'node:http';
import { makeExecutableSchema } from '@graphql-tools/schema';
import DataLoader from 'dataloader';
import { GraphQLError, type GraphQLFieldResolver } from 'graphql';
import { createYoga } from 'graphql-yoga';
import type { Connector, UpstreamRecord } from '../../connectors/index.ts';
import { ClaimsScalar } from '../../gateway/consumer/claims.ts';
import { selectedFields } from '../../gateway/consumer/selection.ts';
import { buildTypeDefs, type Catalogue, type Resource } from '../../schema/index.ts';
import { unknownPurposeMessage } from '../scenarios.ts';

interface PlainContext {
  readonly loaders: Map<string, DataLoader<string, UpstreamRecord | null>>;
}

interface Subject {
  readonly key: string;
}

type Resolver<TParent, TArgs> = GraphQLFieldResolver<TParent, PlainContext, TArgs>;

const normalize = (v: unknown) => (v === null || v === undefined ? '' : String(v).trim());

export function createPlainServer(catalogue: Catalogue, connectors: ReadonlyMap<string, Connector>): Server {
  const purposes = new Set(catalogue.purposes.map((p) => p.code));
  const resources = new Map(catalogue.resources.map((r) => [r.code, r]));

  const loaderFor = (ctx: PlainContext, r: Resource, items: readonly string[]) => {
    const key = `${r.code}\u0000${items.join(',')}`;
    let loader = ctx.loaders.get(key);
    if (!loader) {
      const connector = connectors.get(r.binding.connector);
      if (!connector) throw new Error(`connector ${r.binding.connector} is not configured`);
      loader = new DataLoader<string, UpstreamRecord | null>(
        (keys) => connector.fetchMany({ dataset: r.binding.dataset, keyField: r.binding.keyField, keys, items }),
        { maxBatchSize: 10_000 },
      );
      ctx.loaders.set(key, loader);
    }
    return loader;
  };

  const access: Resolver<unknown, { purpose?: string | null }> = (_p, args) => {
    const purpose = args.purpose ?? '';
    if (!purposes.has(purpose)) throw new GraphQLError(unknownPurposeMessage(purpose), { extensions: { code: 'PURPOSE_INVALID' } });
    return { purpose };
  };
  const verify: Resolver<unknown, { resource: string; key: string; claims: Record<string, string | number | boolean> }> = async (_s, args, ctx) => {
    const r = resources.get(args.resource);
    if (!r) throw new GraphQLError(`Resource "${args.resource}" is not catalogued.`, { extensions: { code: 'BAD_USER_INPUT' } });
    const claimed = Object.keys(args.claims).sort();
    const record = await loaderFor(ctx, r, claimed).load(args.key);
    const mismatched = record ? claimed.filter((item) => normalize(record[item]) !== normalize(args.claims[item])) : claimed;
    return { match: record !== null && mismatched.length === 0, mismatched };
  };
  const resourceField = (r: Resource): Resolver<Subject, unknown> => (subject, _args, ctx, info) =>
    loaderFor(ctx, r, selectedFields(info)).load(subject.key);

  const person: Record<string, unknown> = { idNumber: (s: Subject) => s.key };
  const enterprise: Record<string, unknown> = { creditCode: (s: Subject) => s.key };
  for (const r of catalogue.resources) (r.subject === 'person' ? person : enterprise)[r.field] = resourceField(r);

  const schema = makeExecutableSchema({
    typeDefs: buildTypeDefs(catalogue),
    resolvers: {
      Claims: ClaimsScalar,
      Query: { access },
      Access: {
        person: (_s: unknown, args: { idNumber: string }): Subject => ({ key: args.idNumber }),
        persons: (_s: unknown, args: { idNumbers: string[] }): Subject[] => args.idNumbers.map((key) => ({ key })),
        enterprise: (_s: unknown, args: { creditCode: string }): Subject => ({ key: args.creditCode }),
        verify,
      },
      Person: person,
      Enterprise: enterprise,
    },
  });
  const yoga = createYoga<Record<string, unknown>, PlainContext>({
    schema,
    graphqlEndpoint: '/graphql',
    graphiql: false,
    landingPage: false,
    maskedErrors: true,
    logging: false,
    context: (): PlainContext => ({ loaders: new Map() }),
  });
  const server = createServer(yoga);
  server.keepAliveTimeout = 65_000;
  return server;
}
