/**
 * The executable GraphQL schema: SDL generated from the catalogue plus the hub's resolvers.
 */
import { makeExecutableSchema } from '@graphql-tools/schema';
import type { GraphQLSchema } from 'graphql';
import { buildTypeDefs, typeNameOf, type Catalogue } from '../schema/index.ts';
import { accessResolvers } from './consumer/access.ts';
import { catalogueResolvers } from './consumer/catalogue.ts';
import { ClaimsScalar } from './consumer/claims.ts';
import { itemResolver, resourceResolver } from './consumer/records.ts';
import { roleResolvers, roleTypeDefs } from './management/index.ts';

const schemas = new WeakMap<Catalogue, GraphQLSchema>();

/** The schema of a catalogue, built once per catalogue state (a catalogue change builds a new one). */
export function schemaFor(catalogue: Catalogue): GraphQLSchema {
  let schema = schemas.get(catalogue);
  if (!schema) {
    schema = buildSchema(catalogue);
    schemas.set(catalogue, schema);
  }
  return schema;
}

export function buildSchema(catalogue: Catalogue): GraphQLSchema {
  const person: Record<string, unknown> = { ...accessResolvers.Person };
  const enterprise: Record<string, unknown> = { ...accessResolvers.Enterprise };
  const recordTypes: Record<string, Record<string, unknown>> = {};
  for (const r of catalogue.resources) {
    (r.subject === 'person' ? person : enterprise)[r.field] = resourceResolver(r);
    recordTypes[typeNameOf(r)] = Object.fromEntries(r.items.map((i) => [i.name, itemResolver]));
  }
  return makeExecutableSchema({
    typeDefs: [buildTypeDefs(catalogue), ...roleTypeDefs],
    resolvers: {
      ...roleResolvers,
      Claims: ClaimsScalar,
      Query: { ...accessResolvers.Query, ...catalogueResolvers.Query, ...roleResolvers.Query },
      Access: accessResolvers.Access,
      CatalogueResource: catalogueResolvers.CatalogueResource,
      PurposeInfo: catalogueResolvers.PurposeInfo,
      Person: person,
      Enterprise: enterprise,
      ...recordTypes,
    },
  });
}
