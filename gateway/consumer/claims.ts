/**
 * `Claims` scalar: an object of item name → string, number or boolean, given inline or as a variable.
 */
import { GraphQLError, GraphQLScalarType, Kind, type ValueNode } from 'graphql';

type Claims = Record<string, string | number | boolean>;

const NAME = /^[a-z][A-Za-z0-9]{0,63}$/;
const MAX_CLAIMS = 50;

const invalid = (message: string) => new GraphQLError(`claims ${message}`, { extensions: { code: 'BAD_USER_INPUT' } });

function check(value: unknown): Claims {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid('must be an object of item name → value.');
  const entries = Object.entries(value);
  if (entries.length > MAX_CLAIMS) throw invalid(`may name at most ${MAX_CLAIMS} items.`);
  for (const [k, v] of entries) {
    if (!NAME.test(k)) throw invalid(`has "${k.slice(0, 64)}", which is not an item name.`);
    if (!['string', 'number', 'boolean'].includes(typeof v)) throw invalid(`value of "${k}" must be a string, number or boolean.`);
    if (typeof v === 'string' && v.length > 1000) throw invalid(`value of "${k}" is longer than 1000 characters.`);
  }
  return value as Claims;
}

function literal(node: ValueNode): unknown {
  switch (node.kind) {
    case Kind.STRING: return node.value;
    case Kind.INT: return Number.parseInt(node.value, 10);
    case Kind.FLOAT: return Number.parseFloat(node.value);
    case Kind.BOOLEAN: return node.value;
    case Kind.OBJECT: return Object.fromEntries(node.fields.map((f) => [f.name.value, literal(f.value)]));
    default: throw invalid('values must be strings, numbers or booleans.');
  }
}

export const ClaimsScalar = new GraphQLScalarType<Claims, Claims>({
  name: 'Claims',
  description: 'An object of claimed item values: item name → string, number or boolean.',
  serialize: (v) => check(v),
  parseValue: (v) => check(v),
  parseLiteral: (node) => {
    if (node.kind !== Kind.OBJECT) throw invalid('must be an object, e.g. { name: "张三" }.');
    return check(literal(node));
  },
});
