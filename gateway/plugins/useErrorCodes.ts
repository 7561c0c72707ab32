/**
 * Every error a client sees carries `extensions.code`. graphql-js reports variable coercion
 * errors without one; they are the caller's input, so they get BAD_USER_INPUT.
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
          if (result.errors.every((e) => typeof e.extensions['code'] === 'string')) return;
          setResult({ ...result, errors: result.errors.map(withCode) });
        },
      };
    },
  };
}
