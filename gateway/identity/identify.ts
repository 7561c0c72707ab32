/**
 * Who sent a request. In order:
 * 1. an identity a plugin already established (a console session, gateway/console/);
 * 2. a verified client certificate bound to a system (mutual TLS, tls.ts), with the system's bearer
 *    token as well when `auth.certificates.alsoRequireToken`;
 * 3. a bearer credential: a JWT of a trusted department identity provider (jwt.ts), else a hub
 *    token (stored hashed, gateway/credentials.ts).
 * A system with certificates bound in the catalogue is accepted only with one of them: its token
 * alone, if stolen, identifies nobody.
 */
import { hash } from 'node:crypto';
import type { Principal } from '../../policies/index.ts';
import { normaliseFingerprint, type Catalogue } from '../../schema/index.ts';
import type { HubConfig } from '../config.ts';
import { hashToken, type Authenticator } from '../credentials.ts';
import { looksLikeJwt, type JwtVerifier } from './jwt.ts';
import { establishedIdentity, type RequestIdentity } from './request-identity.ts';
import { peerCertificate } from './tls.ts';

export type Identification =
  | { readonly ok: true; readonly identity: RequestIdentity }
  /** No acceptable credential: UNAUTHENTICATED; counts as a failed authentication of the address. */
  | { readonly ok: false; readonly reason: string }
  /** A credential that cannot be checked right now (an identity provider's keys unreachable): 503. */
  | { readonly ok: false; readonly unavailable: string };

const BEARER = /^Bearer\s+(\S{16,4096})$/i;
const HUB_TOKEN = /^\S{16,256}$/;

export interface IdentifyDependencies {
  readonly authenticator: Authenticator;
  readonly jwt: JwtVerifier | undefined;
  readonly catalogue: () => Pick<Catalogue, 'systems'>;
  readonly auth: HubConfig['auth'];
}

const refused = (reason: string): Identification => ({ ok: false, reason });

export function createIdentifier(deps: IdentifyDependencies) {
  const systemOf = (fingerprint: string) => deps.catalogue().systems.find((s) => s.certificates?.some((f) => normaliseFingerprint(f) === fingerprint));
  const boundSystem = (principal: Principal) =>
    principal.kind === 'system' && (deps.catalogue().systems.find((s) => s.code === principal.id)?.certificates?.length ?? 0) > 0;

  /** The principal of a bearer credential (JWT or hub token), or why not. */
  const bearer = async (token: string): Promise<Identification> => {
    if (deps.jwt?.configured && looksLikeJwt(token)) {
      const outcome = await deps.jwt.verify(token, deps.catalogue());
      if (outcome.ok) return { ok: true, identity: { principal: outcome.principal, via: 'jwt', credentialKey: hashToken(token) } };
      return outcome.unavailable ? { ok: false, unavailable: outcome.reason } : refused(outcome.reason);
    }
    if (!HUB_TOKEN.test(token)) return refused('the bearer token is not one this hub issued');
    // Throws when MongoDB does not answer: the caller answers 503, not 401. The token's hash is
    // both what the credential is looked up by and the key of its identity (hashed once).
    const credentialKey = hashToken(token);
    const principal = await deps.authenticator.authenticateTokenHash(credentialKey);
    if (!principal) return refused('the bearer token is unknown, revoked or expired');
    return { ok: true, identity: { principal, via: 'token', credentialKey } };
  };

  return async function identify(request: Request, serverContext: unknown): Promise<Identification> {
    const established = establishedIdentity(request);
    if (established) return { ok: true, identity: established };
    const header = request.headers.get('authorization');
    const match = header ? BEARER.exec(header.trim()) : null;
    if (header && !match) return refused('the Authorization header is not "Bearer <token>"');
    const certificate = peerCertificate(serverContext);
    if (certificate.state === 'rejected') return refused(`the client certificate was not accepted (${certificate.reason})`);
    if (certificate.state === 'verified') {
      const system = systemOf(certificate.fingerprint);
      if (!system) return refused(`the client certificate (SHA-256 ${certificate.fingerprint}) is not bound to a registered system`);
      const principal: Principal = { kind: 'system', id: system.code, department: system.department };
      if (deps.auth.certificates.alsoRequireToken) {
        if (!match) return refused(`system "${system.code}" must also send its bearer token`);
        const token = await bearer(match[1]!);
        if (!token.ok) return token;
        if (token.identity.principal.kind !== 'system' || token.identity.principal.id !== system.code) {
          return refused('the bearer token belongs to another principal than the client certificate');
        }
        return { ok: true, identity: { principal, via: 'certificate', credentialKey: token.identity.credentialKey } };
      }
      return { ok: true, identity: { principal, via: 'certificate', credentialKey: `certificate:${fingerprintKey(certificate.fingerprint)}` } };
    }
    if (!match) return refused('no credential: send Authorization: Bearer <token>, or a client certificate');
    const outcome = await bearer(match[1]!);
    if (outcome.ok && boundSystem(outcome.identity.principal)) {
      return refused(`system "${outcome.identity.principal.id}" is bound to a client certificate: connect with it`);
    }
    return outcome;
  };
}

export type Identifier = ReturnType<typeof createIdentifier>;

/** A short key of a certificate for rate limits (the fingerprint is not secret, but keys stay uniform). */
function fingerprintKey(fingerprint: string): string {
  return hash('sha256', fingerprint, 'hex');
}
