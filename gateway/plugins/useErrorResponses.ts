/**
 * JSON responses that carry errors, written by yoga's own processor with no stack trace captured
 * for the copies it makes. Before it writes a response, yoga copies every error (and its original)
 * to drop internal extensions (`http`, `unexpected`); each copy is a new GraphQLError, which
 * captures a stack trace twice, ≈ 14 µs a copy against ≈ 4.4 µs with none: 8 % of the hub's CPU
 * on refused requests under the profiler (bench/README.md, lever 17). The copies exist only to be
 * serialized: their stacks are never read. The errors they copy (what resolvers threw, what yoga's
 * masking made of faults, during execution) keep theirs.
 *
 * yoga's hook hands a plugin the processor it chose but not the media type it chose it for, so
 * `regularMediaType` works that out as yoga 5 does (`plugins/use-result-processor.js` and
 * `plugins/result-processor/accept.js`); a test holds the two to the same Content-Type, status and
 * body for every Accept header it tries.
 */
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

/** Place it after every plugin that may change a result or its processor. */
export function useErrorResponses(): Plugin {
  return {
    onResultProcess({ request, result, resultProcessor, setResultProcessor }) {
      if (resultProcessor !== processRegularResult || isAsyncIterable(result)) return;
      const errors = Array.isArray(result) ? result.some((r) => (r.errors?.length ?? 0) > 0) : (result.errors?.length ?? 0) > 0;
      if (!errors) return;
      const mediaType = regularMediaType(request.headers.get('accept'));
      if (mediaType !== undefined) setResultProcessor(withoutStackTraces, mediaType);
    },
  };
}
