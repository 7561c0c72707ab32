/**
 * `JSON` scalar: any JSON value, given inline or as a variable. Catalogue definitions travel as
 * JSON and are checked by the catalogue's JSON Schema, which names the path and the rule broken.
 */
import { GraphQLScalarType, valueFromASTUntyped } from 'graphql';

export const JSONScalar = new GraphQLScalarType({
  name: 'JSON',
  description: 'Any JSON value.',
  serialize: (v) => v,
  parseValue: (v) => v,
  parseLiteral: (node, variables) => valueFromASTUntyped(node, variables),
});
