/**
 * Every error a client sees carries `extensions.code`. graphql-js reports variable coercion
 * errors without one; they are the caller's input, so they get BAD_USER_INPUT. And a refusal goes
 * out as one error, not as the executor's wrapper around it (see `unwrapped`).
 */
import { GraphQLError } from 'graphql';
import { isAsyncIterable, type Plugin } from 'graphql-yoga';

function withCode(error: GraphQLError): GraphQLError {
  if (typeof error.extensions['code'] === 'string') return error;
  const code = error.path === undefined ? 'BAD_USER_INPUT' : 'INTERNAL_SERVER_ERROR';
  return new GraphQLError(error.message, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    path: error.path,
    originalError: error.originalError,
    extensions: { ...error.extensions, code },
  });
}

/**
 * A refusal the hub threw (a GraphQLError of its own, thrown without a path: the executor wraps
 * it in another that has one) as the one error it is: same message, locations, path and
 * extensions, made without a stack trace. Before it writes a response, yoga copies every error
 * and its original to drop internal extensions; the copy of the original captured a stack trace,
 * which the copy of the wrapper then formatted (≈ 17 µs a refusal, a twentieth of a refused
 * request's CPU; bench/README.md, lever 3). Faults (originals that are not GraphQLErrors) keep
 * their wrapper: yoga masks them by it.
 */
function unwrapped(error: GraphQLError): GraphQLError {
  const original = error.originalError;
  if (!(original instanceof GraphQLError) || original === error || original.originalError !== undefined) return error;
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return new GraphQLError(error.message, { nodes: error.nodes, source: error.source, positions: error.positions, path: error.path, extensions: error.extensions });
  } finally {
    Error.stackTraceLimit = limit;
  }
}

/**
 * yoga answers a body that is not JSON with `extensions.originalError: { name, message }` of the
 * JSON parser: a JavaScript error class, and V8's message quoting the body back. The client needs
 * only the message and BAD_REQUEST. yoga also reads the property to answer 400 rather than 200,
 * so it stays on the error, hidden from the JSON the client gets.
 */
function hideOriginalError(error: GraphQLError): void {
  const extensions = error.extensions as Record<string, unknown>;
  if (!Object.prototype.propertyIsEnumerable.call(extensions, 'originalError') || Object.isFrozen(extensions)) return;
  Object.defineProperty(extensions, 'originalError', { value: extensions['originalError'], enumerable: false });
}

export function useErrorCodes(): Plugin {
  return {
    onResultProcess({ result }) {
      if (Array.isArray(result) || isAsyncIterable(result)) return;
      for (const error of result.errors ?? []) if (error instanceof GraphQLError) hideOriginalError(error);
    },
    onExecute() {
      return {
        onExecuteDone({ result, setResult }) {
          if (isAsyncIterable(result) || !result.errors?.length) return;
          const errors = result.errors.map((e) => withCode(unwrapped(e)));
          if (errors.some((e, i) => e !== result.errors![i])) setResult({ ...result, errors });
        },
      };
    },
  };
}
