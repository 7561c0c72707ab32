/**
 * Request limits: body size, token count, selection depth, alias count and estimated cost. Each
 * refusal names the limit so a client can reshape its request. All of them act before execution:
 * no department call and no audit record for a refused request.
 */
import { GraphQLError, Kind, parse, type ASTVisitor, type DocumentNode, type SelectionSetNode, type Source, type ValidationContext } from 'graphql';
import type { GraphQLParams, Plugin } from 'graphql-yoga';
import { costAbove, costError } from '../limits/cost.ts';

export interface LimitOptions {
  readonly maxBodyBytes: number;
  readonly maxTokens: number;
  readonly maxDepth: number;
  readonly maxAliases: number;
  /** Most estimated cost of one operation (gateway/limits/cost.ts). */
  readonly maxCost?: number;
}

function refuse(status: number, code: string, message: string): Response {
  return new Response(JSON.stringify({ errors: [{ message, extensions: { code } }] }), { status, headers: { 'content-type': 'application/json' } });
}

const tooComplex = (message: string) => new GraphQLError(message, { extensions: { code: 'QUERY_TOO_COMPLEX' } });

export function depthAndAliasRule(limits: Pick<LimitOptions, 'maxDepth' | 'maxAliases'>) {
  return (context: ValidationContext): ASTVisitor => {
    const doc = context.getDocument();
    const fragments = new Map(doc.definitions.flatMap((d) => (d.kind === Kind.FRAGMENT_DEFINITION ? [[d.name.value, d] as const] : [])));
    // Each fragment is measured once: the depth of its selection and the aliases it expands to.
    // Walking every spread instead takes time exponential in the document's size: fragments that
    // each spread the next one twice expand to 2^k copies (k = 30 hung the hub for minutes).
    // Aliases are counted as expanded (that many copies), depth as nested fields.
    type Measure = { readonly depth: number; readonly aliases: number };
    const measured = new Map<string, Measure>();
    const measuring = new Set<string>();
    const fragment = (name: string): Measure => {
      const known = measured.get(name);
      if (known) return known;
      const definition = fragments.get(name);
      // A cycle (NoFragmentCyclesRule reports it) or an unknown fragment (KnownFragmentNamesRule) adds nothing.
      if (!definition || measuring.has(name)) return { depth: 0, aliases: 0 };
      measuring.add(name);
      const m = measure(definition.selectionSet);
      measuring.delete(name);
      measured.set(name, m);
      return m;
    };
    const measure = (set: SelectionSetNode | undefined): Measure => {
      let depth = 0;
      let aliases = 0;
      for (const s of set?.selections ?? []) {
        const below = s.kind === Kind.FIELD ? measure(s.selectionSet) : s.kind === Kind.INLINE_FRAGMENT ? measure(s.selectionSet) : fragment(s.name.value);
        const own = s.kind === Kind.FIELD ? 1 : 0;
        depth = Math.max(depth, own + below.depth);
        aliases += below.aliases + (s.kind === Kind.FIELD && s.alias ? 1 : 0);
      }
      return { depth, aliases };
    };
    return {
      OperationDefinition(node) {
        const { depth, aliases } = measure(node.selectionSet);
        if (depth > limits.maxDepth) context.reportError(tooComplex(`The query is nested ${depth} levels deep; at most ${limits.maxDepth} are allowed.`));
        if (aliases > limits.maxAliases) context.reportError(tooComplex(`The query uses ${aliases} aliases; at most ${limits.maxAliases} are allowed.`));
      },
    };
  };
}

/**
 * graphql-js parses recursively: a value nested a few thousand lists deep (`[[[…]]]`, two tokens a
 * level, well within maxTokens) overflows the stack, which yoga answered as a 500. It is the
 * client's document that is at fault, so it is a parse failure like any other.
 */
function parseWithin(source: string | Source, maxTokens: number): DocumentNode {
  try {
    return parse(source, { maxTokens });
  } catch (error) {
    if (error instanceof RangeError) {
      throw new GraphQLError('The document is nested too deeply to parse.', { extensions: { code: 'GRAPHQL_PARSE_FAILED' } });
    }
    throw error;
  }
}

/**
 * yoga marks validation errors as HTTP 400 (graphql-response+json) in its own onValidate hook,
 * which has run before this one adds the cost error: without the mark a query over maxCost was
 * answered 200 while one too deep or too wide was answered 400, for the same QUERY_TOO_COMPLEX.
 */
function asValidationError(error: GraphQLError): GraphQLError {
  return new GraphQLError(error.message, { extensions: { ...error.extensions, http: { spec: true, status: 400 } } });
}

export function useLimits(limits: LimitOptions): Plugin {
  return {
    // The body limit is enforced here from Content-Length, before a byte is read; yoga's own
    // limiter (a stream pipeline per request) is switched off in server.ts. A POST without a
    // length (chunked) is refused, so no body can grow past the limit unseen.
    onRequest({ request, endResponse }) {
      // Operations only by POST: a GET would put purpose, case number and subject IDs in URLs,
      // which proxies and access logs keep. GET serves GraphiQL and the health endpoints only.
      if (request.method === 'GET' && new URL(request.url).searchParams.has('query')) {
        endResponse(refuse(405, 'METHOD_NOT_ALLOWED', 'Send GraphQL operations by POST; a GET would put identifiers in URLs.'));
        return;
      }
      if (request.method !== 'POST') return;
      const header = request.headers.get('content-length');
      if (header === null) {
        endResponse(refuse(411, 'LENGTH_REQUIRED', 'Send the request body with a Content-Length header.'));
        return;
      }
      const length = Number(header);
      if (length > limits.maxBodyBytes) {
        endResponse(refuse(413, 'PAYLOAD_TOO_LARGE', `The request body is ${length} bytes; at most ${limits.maxBodyBytes} are accepted.`));
      }
    },
    onParse({ setParseFn }) {
      setParseFn((source) => parseWithin(source, limits.maxTokens));
    },
    onValidate({ addValidationRule, context, params: { schema, documentAST } }) {
      addValidationRule(depthAndAliasRule(limits));
      const { maxCost } = limits;
      if (!maxCost) return;
      // After the other rules, on a valid document only, with this request's variables (list sizes
      // often come from variables): not cached with the rules' verdicts, but remembered per shape
      // of the variables (costAbove).
      return ({ valid, result, setResult }) => {
        if (!valid) return;
        const request = (context as { params?: GraphQLParams }).params;
        const cost = costAbove(schema, documentAST, request?.variables, request?.operationName, maxCost);
        if (cost !== undefined) setResult([...result, asValidationError(costError(cost, maxCost))]);
      };
    },
  };
}
