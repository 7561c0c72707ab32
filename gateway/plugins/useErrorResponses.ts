/**
 * JSON responses that carry errors, written by yoga's own processor with no stack trace captured
 * for the copies it makes. Before it writes a response, yoga copies every error (and its original)
 * to drop internal extensions (`http`, `unexpected`); each copy is a new GraphQLError, which
 * captures a stack trace twice, ≈ 14 µs a copy against ≈ 4.4 µs with none: 8 % of the hub's CPU
 * on refused requests under the profiler (bench/README.md, lever 17). The copies exist only to be
 * serialized: their stacks are never read. The errors they copy (what resolvers threw, what yoga's
 * masking made of faults, during execution) keep theirs.
 *
 * Most such responses need no copy at all (lever 19): when every error is a GraphQLError without
 * the extensions yoga drops (the hub's refusals) and the result has `data`, a copy's JSON is the
 * error's own `toJSON()`, so yoga is handed those instead and finds nothing to copy (≈ 9.4 → 1.7
 * µs a response, micro-benchmark). The status comes out the same: such errors set none, and with
 * `data` in the result yoga answers 200 for plain objects as for the errors themselves (without
 * it, 500 for objects that are not GraphQLErrors: those results keep the copies).
 *
 * yoga's hook hands a plugin the processor it chose but not the media type it chose it for, so
 * `regularMediaType` works that out as yoga 5 does (`plugins/use-result-processor.js` and
 * `plugins/result-processor/accept.js`); a test holds the two to the same Content-Type, status and
 * body for every Accept header and kind of result it tries.
 */
import { GraphQLError, type ExecutionResult } from 'graphql';
import { isAsyncIterable, processRegularResult, type Plugin } from 'graphql-yoga';

/** yoga's regular (single JSON result) media types, in the order it tries them. */
const REGULAR = ['application/graphql-response+json', 'application/json'] as const;

/** `type/subtype` of a processor matched by an Accept entry, which may use `*` for either part. */
function accepts(entry: string, type: string): boolean {
  const [pre, suf] = entry.split('/');
  const [typePre, typeSuf] = type.split('/');
  return (pre === '*' || pre === typePre) && (suf === '*' || suf === typeSuf);
}

/**
 * The regular media type yoga answers a request with, from its Accept header (none: any):
 * entries with a charset other than utf-8 are skipped, the others taken last to first, each
 * against both types in order; the last match wins. Undefined when none matches (yoga then
 * answers 406, or picks a streaming processor).
 */
export function regularMediaType(accept: string | null): string | undefined {
  let chosen: string | undefined;
  const entries = (accept || '*/*').replace(/\s/g, '').toLowerCase().split(',').reverse();
  for (const entry of entries) {
    const [mediaType = '', ...params] = entry.split(';');
    const charset = params.find((p) => p.includes('charset=')) ?? 'charset=utf-8';
    if (charset !== 'charset=utf-8') continue;
    for (const type of REGULAR) if (accepts(mediaType, type)) chosen = type;
  }
  return chosen;
}

/** yoga's regular processor, with no stack trace captured for the errors it makes while it runs. */
export const withoutStackTraces: typeof processRegularResult = (result, fetchAPI, mediaType) => {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return processRegularResult(result, fetchAPI, mediaType);
  } finally {
    Error.stackTraceLimit = limit;
  }
};

/**
 * An error whose JSON yoga's copy would not change: a GraphQLError with graphql-js's own `toJSON`
 * and no `http` or `unexpected` extension (the ones yoga drops). Whatever it wraps: the copy's JSON
 * holds none of it, and with `data` in the result yoga answers 200 for such errors either way.
 */
function servedAsItIs(error: unknown): error is GraphQLError {
  if (!(error instanceof GraphQLError) || error.toJSON !== GraphQLError.prototype.toJSON) return false;
  const extensions: Record<string, unknown> | undefined = error.extensions;
  return extensions == null || (!('http' in extensions) && !('unexpected' in extensions));
}

/** A single result with `data`, no stringifier of its own and errors that need no copy (see above). */
function needsNoCopies(result: ExecutionResult & { stringify?: unknown }): boolean {
  return 'data' in result && result.stringify === undefined && (result.errors?.every(servedAsItIs) ?? false);
}

/** yoga's regular processor, handed each error's JSON instead of the error (only for results `needsNoCopies` accepts). */
export const withErrorsAsJson: typeof processRegularResult = (result, fetchAPI, mediaType) => {
  const single = result as ExecutionResult;
  return processRegularResult({ ...single, errors: single.errors!.map((e) => e.toJSON()) } as unknown as ExecutionResult, fetchAPI, mediaType);
};

/** Place it after every plugin that may change a result or its processor. */
export function useErrorResponses(): Plugin {
  return {
    onResultProcess({ request, result, resultProcessor, setResultProcessor }) {
      if (resultProcessor !== processRegularResult || isAsyncIterable(result)) return;
      const errors = Array.isArray(result) ? result.some((r) => (r.errors?.length ?? 0) > 0) : (result.errors?.length ?? 0) > 0;
      if (!errors) return;
      const mediaType = regularMediaType(request.headers.get('accept'));
      if (mediaType === undefined) return;
      setResultProcessor(!Array.isArray(result) && needsNoCopies(result) ? withErrorsAsJson : withoutStackTraces, mediaType);
    },
  };
}
