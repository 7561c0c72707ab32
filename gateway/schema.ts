/**
 * The executable GraphQL schema: SDL generated from the catalogue plus the hub's resolvers.
 */
import { makeExecutableSchema } from '@graphql-tools/schema';
import type { GraphQLSchema } from 'graphql';
import { buildTypeDefs, typeNameOf, type Catalogue } from '../schema/index.ts';
import { accessResolvers } from './resolvers/access.ts';
import { catalogueResolvers } from './resolvers/catalogue.ts';
import { ClaimsScalar } from './resolvers/claims.ts';
import { itemResolver, resourceResolver } from './resolvers/records.ts';

export function buildSchema(catalogue: Catalogue): GraphQLSchema {
  const person: Record<string, unknown> = { ...accessResolvers.Person };
  const enterprise: Record<string, unknown> = { ...accessResolvers.Enterprise };
  const recordTypes: Record<string, Record<string, unknown>> = {};
  for (const r of catalogue.resources) {
    (r.subject === 'person' ? person : enterprise)[r.field] = resourceResolver(r);
    recordTypes[typeNameOf(r)] = Object.fromEntries(r.items.map((i) => [i.name, itemResolver]));
  }
  return makeExecutableSchema({
    typeDefs: buildTypeDefs(catalogue),
    resolvers: {
      Claims: ClaimsScalar,
      Query: { ...accessResolvers.Query, ...catalogueResolvers.Query },
      Access: accessResolvers.Access,
      CatalogueResource: catalogueResolvers.CatalogueResource,
      PurposeInfo: catalogueResolvers.PurposeInfo,
      Person: person,
      Enterprise: enterprise,
      ...recordTypes,
    },
  });
}
