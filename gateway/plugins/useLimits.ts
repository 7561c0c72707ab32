/**
 * Request limits: body size, token count, selection depth, alias count and estimated cost. Each
 * refusal names the limit so a client can reshape its request. All of them act before execution:
 * no department call and no audit record for a refused request.
 */
import { GraphQLError, Kind, parse, type ASTVisitor, type SelectionSetNode, type ValidationContext } from 'graphql';
import type { GraphQLParams, Plugin } from 'graphql-yoga';
import { costError, operationCost } from '../limits/cost.ts';

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
    let aliases = 0;
    const depthOf = (set: SelectionSetNode | undefined, depth: number, seen: Set<string>): number => {
      if (!set) return depth;
      let max = depth;
      for (const s of set.selections) {
        if (s.kind === Kind.FIELD) {
          if (s.alias) aliases++;
          max = Math.max(max, depthOf(s.selectionSet, depth + 1, seen));
        } else if (s.kind === Kind.INLINE_FRAGMENT) {
          max = Math.max(max, depthOf(s.selectionSet, depth, seen));
        } else if (!seen.has(s.name.value)) {
          max = Math.max(max, depthOf(fragments.get(s.name.value)?.selectionSet, depth, new Set([...seen, s.name.value])));
        }
        if (max > limits.maxDepth) return max;
      }
      return max;
    };
    return {
      OperationDefinition(node) {
        aliases = 0;
        const depth = depthOf(node.selectionSet, 0, new Set());
        if (depth > limits.maxDepth) context.reportError(tooComplex(`The query is nested ${depth} levels deep; at most ${limits.maxDepth} are allowed.`));
        if (aliases > limits.maxAliases) context.reportError(tooComplex(`The query uses ${aliases} aliases; at most ${limits.maxAliases} are allowed.`));
      },
    };
  };
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
      setParseFn((source) => parse(source, { maxTokens: limits.maxTokens }));
    },
    onValidate({ addValidationRule, context, params: { schema, documentAST } }) {
      addValidationRule(depthAndAliasRule(limits));
      const { maxCost } = limits;
      if (!maxCost) return;
      // After the other rules, on a valid document only, with this request's variables (list sizes
      // often come from variables): never cached, unlike the rules' verdicts.
      return ({ valid, result, setResult }) => {
        if (!valid) return;
        const request = (context as { params?: GraphQLParams }).params;
        const cost = operationCost(schema, documentAST, request?.variables, request?.operationName);
        if (cost !== undefined && cost > maxCost) setResult([...result, costError(cost, maxCost)]);
      };
    },
  };
}
