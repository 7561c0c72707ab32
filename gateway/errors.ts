/**
 * The one place where hub failures become GraphQL errors with `extensions.code`.
 * Messages say what a person can do; they never carry stack traces, record data or secrets.
 */
import { GraphQLError, responsePathAsArray, type GraphQLResolveInfo } from 'graphql';
import { AuditUnavailableError } from '../audit/index.ts';
import { UpstreamError, UpstreamRefusal, UpstreamTimeoutError } from '../connectors/index.ts';
import type { Refusal } from '../policies/index.ts';

export type ErrorCode =
  | Refusal['code']
  | 'UPSTREAM_UNAVAILABLE'
  | 'UPSTREAM_TIMEOUT'
  /** The client went away before the department answered; only its audit record ever sees this. */
  | 'CANCELLED'
  | 'UPSTREAM_INVALID'
  | 'AUDIT_UNAVAILABLE'
  | 'NOT_FOUND'
  | 'CONFLICT'
  /** Too many requests for a system, a token or (failed authentications) a client address. */
  | 'RATE_LIMITED'
  /** The rate-limit store did not answer and `limits.rate.onStoreFailure` is `refuse`. */
  | 'RATE_LIMIT_UNAVAILABLE'
  /** Depth, aliases or estimated cost over the limit: refused before execution. */
  | 'QUERY_TOO_COMPLEX'
  /** Trusted documents: only a hash was sent and no registered document has it. */
  | 'PERSISTED_QUERY_NOT_FOUND'
  /** Trusted documents (enforce): the operation is not registered for this system. */
  | 'OPERATION_NOT_TRUSTED'
  /** A JWT's issuer keys (JWKS) could not be fetched within their deadline: the credential cannot be checked now. */
  | 'IDENTITY_PROVIDER_UNAVAILABLE'
  | 'INTERNAL_SERVER_ERROR';

const HTTP_STATUS: Partial<Record<ErrorCode, number>> = {
  UNAUTHENTICATED: 401,
  RATE_LIMITED: 429,
  RATE_LIMIT_UNAVAILABLE: 503,
  PERSISTED_QUERY_NOT_FOUND: 400,
  OPERATION_NOT_TRUSTED: 403,
  IDENTITY_PROVIDER_UNAVAILABLE: 503,
};

/** Where a resolver throws: its field's nodes and path (a resolver's `info`). */
export type ErrorPosition = Pick<GraphQLResolveInfo, 'fieldNodes' | 'path'>;

/**
 * A hub error is an answer to a client, never a fault to debug: it is made without a stack trace.
 * Capturing one, and formatting it when graphql-js wraps the error with its path, was about a
 * quarter of the hub's CPU on a refused request (bench/README.md, lever 3). Faults (anything else
 * thrown) keep theirs for the logs. `at`: the resolver's `info`, for an error thrown by the field
 * itself; the error then carries its locations and path already, so graphql-js passes it on as it
 * is instead of wrapping it in a copy.
 */
export function hubError(code: ErrorCode, message: string, extra: Record<string, unknown> = {}, at?: ErrorPosition): GraphQLError {
  const status = HTTP_STATUS[code];
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return new GraphQLError(message, {
      extensions: { ...(status ? { http: { status } } : {}), ...extra, code },
      ...(at ? { nodes: at.fieldNodes, path: responsePathAsArray(at.path) } : {}),
    });
  } finally {
    Error.stackTraceLimit = limit;
  }
}

export function refusalError(refusal: Refusal, extra: Record<string, unknown> = {}, at?: ErrorPosition): GraphQLError {
  return hubError(refusal.code, refusal.message, {
    ...extra,
    ...(refusal.denial ? { reason: refusal.denial } : {}),
    ...(refusal.grant ? { grant: refusal.grant.id, grantVersion: refusal.grant.version } : {}),
  }, at);
}

/** Maps a failure below the resolver to the code a client can act on. */
export function toGraphQLError(error: unknown, context: { resource?: string } = {}): GraphQLError {
  if (error instanceof GraphQLError) return error;
  if (error instanceof AuditUnavailableError) return hubError('AUDIT_UNAVAILABLE', error.message);
  // Another region's hub refused: the same refusal code reaches the consumer.
  if (error instanceof UpstreamRefusal) return hubError(error.code as ErrorCode, error.message, context.resource ? { resource: context.resource } : {});
  if (error instanceof UpstreamTimeoutError) {
    const what = context.resource ? `resource ${context.resource}` : 'a department system';
    return hubError('UPSTREAM_TIMEOUT', `The department system serving ${what} did not answer in time; try again later.`, context.resource ? { resource: context.resource } : {});
  }
  if (error instanceof UpstreamError) {
    const what = context.resource ? `resource ${context.resource}` : 'a department system';
    return hubError('UPSTREAM_UNAVAILABLE', `The department system serving ${what} is unavailable; try again later.`, context.resource ? { resource: context.resource } : {});
  }
  return hubError('INTERNAL_SERVER_ERROR', 'Unexpected error.');
}

export function codeOf(error: GraphQLError): string {
  const code = error.extensions['code'];
  return typeof code === 'string' ? code : 'INTERNAL_SERVER_ERROR';
}
