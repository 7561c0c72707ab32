/**
 * Responses that carry errors are written by yoga's own processor without stack traces for its
 * copies of the errors, or without copies where none would change the JSON
 * (gateway/plugins/useErrorResponses.ts): for every Accept header and kind of result tried, a
 * yoga server with the plugin answers exactly what one without it answers (status, Content-Type,
 * body), the plugin takes over only results with errors, and the stack trace limit is restored.
 */
import { createSchema, createYoga, isAsyncIterable, processRegularResult, type Plugin } from 'graphql-yoga';
import { GraphQLError, type ExecutionResult } from 'graphql';
import { describe, expect, it } from 'vitest';
import { hubError } from '../../gateway/errors.ts';
import { regularMediaType, useErrorResponses, withErrorsAsJson, withoutStackTraces } from '../../gateway/plugins/useErrorResponses.ts';

const schema = createSchema({
  typeDefs: `type Query {
    ok: String, refused: String, fault: String, limit: Int, early: String, styled: String,
    here: String, bare: String, wrapped: String, unexpected: String, oddOriginal: String, nested: [Item], required: String!, custom: String
  }
  type Item { name: String }`,
  resolvers: {
    Query: {
      ok: () => 'yes',
      refused: () => { throw new GraphQLError('No grant covers this.', { extensions: { code: 'FORBIDDEN', http: { status: 403 }, reason: 'NO_GRANT' } }); },
      fault: () => { throw new Error('a fault with internals'); },
      limit: () => Error.stackTraceLimit,
      // The hub's refusals: made with their field's position, no internal extensions.
      here: (_p: unknown, _a: unknown, _c: unknown, info) => { throw hubError('FORBIDDEN', 'Purpose x does not cover resource y.', { reason: 'OUTSIDE_PURPOSE' }, info); },
      bare: () => { throw new GraphQLError('Nothing but a message.'); },
      wrapped: () => { throw new GraphQLError('A wrapper.', { originalError: new GraphQLError('The original.', { extensions: { code: 'INNER' } }), extensions: { code: 'OUTER' } }); },
      unexpected: () => { throw new GraphQLError('Marked unexpected.', { extensions: { code: 'X', unexpected: true } }); },
      oddOriginal: () => { throw new GraphQLError('Wraps a fault.', { originalError: new Error('internal'), extensions: { code: 'ODD' } }); },
      nested: () => [{ name: 'a' }, {}, { name: 'c' }],
      required: (_p: unknown, _a: unknown, _c: unknown, info) => { throw hubError('FORBIDDEN', 'Not for you.', {}, info); },
      custom: (_p: unknown, _a: unknown, _c: unknown, info) => {
        const error = hubError('FORBIDDEN', 'Its own JSON.', {}, info);
        Object.defineProperty(error, 'toJSON', { value: () => ({ message: 'Its own JSON.', extensions: { code: 'CUSTOM', added: 1 } }) });
        throw error;
      },
    },
    Item: {
      name: (item: { name?: string }, _a: unknown, _c: unknown, info) => {
        if (item.name === undefined) throw hubError('NOT_FOUND', 'No such item.', { item: 1 }, info);
        return item.name;
      },
    },
  },
});

/**
 * Plugins that make results of other shapes: an operation with a field `early` is answered before
 * execution (errors and no `data`); one with `styled` gets a stringifier of its own, which writes
 * what kind of object each error is.
 */
const otherResults: Plugin = {
  onExecute({ args, setResultAndStopExecution }) {
    const body = args.document.loc?.source.body ?? '';
    if (/\bearly\b/.test(body)) {
      setResultAndStopExecution({ errors: [new GraphQLError('Answered before execution.', { extensions: { code: 'EARLY' } })] });
      return undefined;
    }
    if (!/\bstyled\b/.test(body)) return undefined;
    return {
      onExecuteDone({ result, setResult }) {
        if (isAsyncIterable(result)) return;
        const stringify = (r: ExecutionResult) => JSON.stringify({ ...r, kinds: r.errors?.map((e) => (e instanceof GraphQLError ? 'GraphQLError' : typeof e)) });
        setResult(Object.assign({ ...result }, { stringify }));
      },
    };
  },
};

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
const QUERIES = [
  '{ ok refused }', '{ fault }', '{ ok }', '{ refused fault ok }', '{ nope }',
  '{ ok here }', '{ here bare ok }', '{ nested { name } here }', '{ required ok }', '{ here wrapped }', '{ here unexpected }',
  '{ here refused }', '{ here fault }', '{ custom here }', '{ oddOriginal here }', '{ early }', '{ styled here }', 'query ($n: Int) { ok }', '{ ok here } { ok }',
];

async function answer(yoga: ReturnType<typeof createYoga>, query: string, accept: string | undefined) {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (accept !== undefined) headers['accept'] = accept;
  const response = await yoga.fetch('http://hub.test/graphql', { method: 'POST', headers, body: JSON.stringify({ query }) });
  return { status: response.status, type: response.headers.get('content-type'), body: await response.text() };
}

describe('error responses without yoga\'s copies of their errors, or without the copies\' stack traces', () => {
  it('answer exactly what yoga answers without the plugin, for every Accept header and result', async () => {
    for (const maskedErrors of [true, false]) {
      const plain = createYoga({ schema, logging: false, maskedErrors, plugins: [otherResults] });
      const lean = createYoga({ schema, logging: false, maskedErrors, plugins: [otherResults, useErrorResponses()] });
      for (const accept of ACCEPTS) {
        for (const query of QUERIES) {
          const [expected, got] = [await answer(plain, query, accept), await answer(lean, query, accept)];
          expect(got, `${query} with Accept ${JSON.stringify(accept)}, maskedErrors ${maskedErrors}`).toEqual(expected);
        }
      }
    }
    // The cases above cover both regular types and no match at all.
    expect(new Set(ACCEPTS.map((a) => regularMediaType(a ?? null)))).toEqual(new Set(['application/json', 'application/graphql-response+json', undefined]));
  });

  it('take over results with errors only, and leave the stack trace limit as it was', async () => {
    const seen: unknown[] = [];
    const lean = createYoga({ schema, logging: false, maskedErrors: true, plugins: [otherResults, useErrorResponses(), witness(seen)] });
    const before = Error.stackTraceLimit;
    // Each query, and the processor that writes its response (what each case is).
    const cases: Array<[string, unknown]> = [
      ['{ ok }', processRegularResult], // no errors
      ['{ ok refused }', withoutStackTraces], // an error with an http status
      ['{ ok here }', withErrorsAsJson], // the hub's refusals, made with their position
      ['{ nested { name } here bare }', withErrorsAsJson], // … and errors graphql-js wrapped with theirs
      ['{ required ok }', withErrorsAsJson], // data null
      ['{ here wrapped }', withErrorsAsJson], // GraphQLErrors wrapping GraphQLErrors
      ['{ here unexpected }', withoutStackTraces], // an unexpected one
      ['{ custom here }', withoutStackTraces], // a toJSON of its own
      ['{ oddOriginal }', withoutStackTraces], // an original error that is not a GraphQLError, masked
      ['{ fault }', withoutStackTraces], // a fault, masked
      ['{ early }', withoutStackTraces], // no data: errors answered before execution
      ['{ styled here }', withoutStackTraces], // a stringifier of its own
      ['{ nope }', withoutStackTraces], // no data: a document that does not validate
    ];
    for (const [query] of cases) await answer(lean, query, 'application/json');
    expect(seen).toEqual(cases.map(([, processor]) => processor));
    expect(Error.stackTraceLimit).toBe(before);
    // Resolvers run before the response is written, with the limit as it was.
    expect(JSON.parse((await answer(lean, '{ limit refused }', 'application/json')).body).data.limit).toBe(before);
  });
});
