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

export function useErrorCodes(): Plugin {
  return {
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
