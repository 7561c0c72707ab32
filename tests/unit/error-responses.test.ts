/**
 * Responses that carry errors are written by yoga's own processor without stack traces for its
 * copies of the errors (gateway/plugins/useErrorResponses.ts): for every Accept header tried, a
 * yoga server with the plugin answers exactly what one without it answers (status, Content-Type,
 * body), the plugin takes over only results with errors, and the stack trace limit is restored.
 */
import { createSchema, createYoga, processRegularResult, type Plugin } from 'graphql-yoga';
import { GraphQLError } from 'graphql';
import { describe, expect, it } from 'vitest';
import { regularMediaType, useErrorResponses, withoutStackTraces } from '../../gateway/plugins/useErrorResponses.ts';

const schema = createSchema({
  typeDefs: 'type Query { ok: String, refused: String, fault: String, limit: Int }',
  resolvers: {
    Query: {
      ok: () => 'yes',
      refused: () => { throw new GraphQLError('No grant covers this.', { extensions: { code: 'FORBIDDEN', http: { status: 403 }, reason: 'NO_GRANT' } }); },
      fault: () => { throw new Error('a fault with internals'); },
      limit: () => Error.stackTraceLimit,
    },
  },
});

/** What processor a plugin placed after the others saw, per request. */
function witness(seen: unknown[]): Plugin {
  return { onResultProcess({ resultProcessor }) { seen.push(resultProcessor); } };
}

const ACCEPTS = [
  undefined, '', '*/*', 'application/json', 'application/graphql-response+json',
  'application/graphql-response+json, application/json', 'application/json, application/graphql-response+json',
  'application/json;q=0.9, application/graphql-response+json', 'application/*', '*/json', 'APPLICATION/JSON',
  ' application/json , */* ', 'application/json; charset=iso-8859-1', 'application/json;charset=iso-8859-1, application/graphql-response+json',
  'application/graphql-response+json; charset=utf-8', 'text/html', 'text/event-stream', 'multipart/mixed',
  'text/event-stream, application/json', 'application/json, text/event-stream', 'multipart/mixed, */*', 'text/*, ,',
];
const QUERIES = ['{ ok refused }', '{ fault }', '{ ok }', '{ refused fault ok }', '{ nope }'];

async function answer(yoga: ReturnType<typeof createYoga>, query: string, accept: string | undefined) {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (accept !== undefined) headers['accept'] = accept;
  const response = await yoga.fetch('http://hub.test/graphql', { method: 'POST', headers, body: JSON.stringify({ query }) });
  return { status: response.status, type: response.headers.get('content-type'), body: await response.text() };
}

describe('error responses without stack traces for yoga\'s copies', () => {
  it('answer exactly what yoga answers without the plugin, for every Accept header and result', async () => {
    const plain = createYoga({ schema, logging: false, maskedErrors: true });
    const lean = createYoga({ schema, logging: false, maskedErrors: true, plugins: [useErrorResponses()] });
    for (const accept of ACCEPTS) {
      for (const query of QUERIES) {
        const [expected, got] = [await answer(plain, query, accept), await answer(lean, query, accept)];
        expect(got, `${query} with Accept ${JSON.stringify(accept)}`).toEqual(expected);
      }
    }
    // The cases above cover both regular types and no match at all.
    expect(new Set(ACCEPTS.map((a) => regularMediaType(a ?? null)))).toEqual(new Set(['application/json', 'application/graphql-response+json', undefined]));
  });

  it('take over results with errors only, and leave the stack trace limit as it was', async () => {
    const seen: unknown[] = [];
    const lean = createYoga({ schema, logging: false, maskedErrors: true, plugins: [useErrorResponses(), witness(seen)] });
    const before = Error.stackTraceLimit;
    await answer(lean, '{ ok }', 'application/json');
    await answer(lean, '{ ok refused }', 'application/json');
    expect(seen[0]).toBe(processRegularResult);
    expect(seen[1]).toBe(withoutStackTraces);
    expect(Error.stackTraceLimit).toBe(before);
    // Resolvers run before the response is written, with the limit as it was.
    expect(JSON.parse((await answer(lean, '{ limit refused }', 'application/json')).body).data.limit).toBe(before);
  });
});
