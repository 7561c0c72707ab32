/**
 * Who sent a request, when a plugin established it before authentication runs (a console session
 * cookie, gateway/console/). useAuthentication takes such an identity instead of looking for a
 * bearer token, a JWT or a client certificate; every other check (rate limits, policies, audit)
 * is the same whatever the credential.
 */
import type { Principal } from '../../policies/index.ts';

export type CredentialKind = 'token' | 'jwt' | 'certificate' | 'session';

export interface RequestIdentity {
  readonly principal: Principal;
  /** How the principal proved who it is. */
  readonly via: CredentialKind;
  /**
   * A stable, non-secret key of the credential used (e.g. a token's SHA-256 hash), for per-token
   * rate limits and logs. Never the credential itself.
   */
  readonly credentialKey: string;
}

const established = new WeakMap<Request, RequestIdentity>();

/** Records the identity a plugin established for a request (before useAuthentication's onParams). */
export function setRequestIdentity(request: Request, identity: RequestIdentity): void {
  established.set(request, identity);
}

/** The identity established for a request by a plugin, if any. */
export function establishedIdentity(request: Request): RequestIdentity | undefined {
  return established.get(request);
}
