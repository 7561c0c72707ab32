/**
 * JWTs from departments' identity providers (统一身份认证), verified with jose against each
 * issuer's JSON Web Key Set: signature, algorithm, `iss`, `aud`, `exp`/`nbf`/`iat` with a clock
 * tolerance, and a bounded lifetime. A token identifies a system of the issuer's own department:
 * one department's identity provider cannot speak for another department's systems.
 *
 * Key rotation needs no restart: a remote JWKS is cached and re-fetched when a token names a key id
 * it does not hold (at most once per `jwksCooldownSeconds`); a JWKS file is re-read on SIGHUP.
 */
import { readFile } from 'node:fs/promises';
import {
  createLocalJWKSet, createRemoteJWKSet, decodeJwt, decodeProtectedHeader, errors, jwtVerify,
  type JSONWebKeySet, type JWTVerifyGetKey,
} from 'jose';
import type { Principal } from '../../policies/index.ts';
import { ValidationError, type Catalogue } from '../../schema/index.ts';
import type { JwtIssuerConfig } from '../config.ts';

/** A compact JWS: three base64url parts. Hub tokens (`ywgx_…`) never contain a dot. */
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

export function looksLikeJwt(token: string): boolean {
  return COMPACT_JWS.test(token);
}

export type JwtOutcome =
  | { readonly ok: true; readonly principal: Principal; readonly issuer: string }
  /** The token is not acceptable; `reason` says why, for the client (never the token). */
  | { readonly ok: false; readonly reason: string; readonly unavailable?: false }
  /** The issuer's keys could not be fetched in time: not the client's fault. */
  | { readonly ok: false; readonly reason: string; readonly unavailable: true };

interface Issuer {
  readonly config: JwtIssuerConfig;
  keys: JWTVerifyGetKey;
}

async function readJwksFile(file: string, where: string): Promise<JSONWebKeySet> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw new ValidationError([{ where, path: '', rule: 'readable', message: `cannot read a JSON Web Key Set from ${file}: ${(error as Error).message}` }]);
  }
  if (typeof parsed !== 'object' || parsed === null || !Array.isArray((parsed as { keys?: unknown }).keys)) {
    throw new ValidationError([{ where, path: '', rule: 'jwks', message: `${file} is not a JSON Web Key Set (an object with a "keys" array)` }]);
  }
  return parsed as JSONWebKeySet;
}

async function keysOf(config: JwtIssuerConfig, index: number): Promise<JWTVerifyGetKey> {
  if (config.jwksFile) return createLocalJWKSet(await readJwksFile(config.jwksFile, `config /auth/jwt/issuers/${index}/jwksFile`));
  return createRemoteJWKSet(new URL(config.jwksUri!), {
    timeoutDuration: config.jwksTimeoutMs,
    cooldownDuration: config.jwksCooldownSeconds * 1000,
    // Keys are re-fetched at least every 10 minutes, so a removed (compromised) key stops working.
    cacheMaxAge: 600_000,
  });
}

export class JwtVerifier {
  readonly #issuers = new Map<string, Issuer>();

  private constructor(issuers: readonly Issuer[]) {
    for (const issuer of issuers) this.#issuers.set(issuer.config.issuer, issuer);
  }

  /** Reads every issuer's key set source (JWKS files now; remote sets on first use). */
  static async create(configs: readonly JwtIssuerConfig[]): Promise<JwtVerifier> {
    return new JwtVerifier(await Promise.all(configs.map(async (config, i) => ({ config, keys: await keysOf(config, i) }))));
  }

  get configured(): boolean {
    return this.#issuers.size > 0;
  }

  /** Re-reads JWKS files (SIGHUP); a file that became unreadable keeps its previous keys and throws. */
  async reload(): Promise<void> {
    const configs = [...this.#issuers.values()].map((i) => i.config);
    const fresh = await Promise.all(configs.map((config, i) => (config.jwksFile ? keysOf(config, i) : undefined)));
    configs.forEach((config, i) => { if (fresh[i]) this.#issuers.get(config.issuer)!.keys = fresh[i]!; });
  }

  async verify(token: string, catalogue: Pick<Catalogue, 'systems'>): Promise<JwtOutcome> {
    let claimedIssuer: unknown;
    try {
      decodeProtectedHeader(token);
      claimedIssuer = decodeJwt(token).iss;
    } catch {
      return { ok: false, reason: 'the bearer token is not a well-formed JWT' };
    }
    const issuer = typeof claimedIssuer === 'string' ? this.#issuers.get(claimedIssuer) : undefined;
    if (!issuer) return { ok: false, reason: 'the JWT names an issuer this hub does not trust' };
    const { config } = issuer;
    let payload;
    try {
      ({ payload } = await jwtVerify(token, issuer.keys, {
        issuer: config.issuer,
        audience: config.audience,
        algorithms: [...config.algorithms],
        clockTolerance: config.clockToleranceSeconds,
        maxTokenAge: config.maxLifetimeSeconds + config.clockToleranceSeconds,
        requiredClaims: ['exp', 'iat'],
      }));
    } catch (error) {
      if (error instanceof errors.JWKSTimeout || (error instanceof errors.JOSEError && error.code === 'ERR_JOSE_GENERIC') || !(error instanceof errors.JOSEError)) {
        return { ok: false, unavailable: true, reason: `the keys of issuer ${config.issuer} could not be fetched` };
      }
      return { ok: false, reason: jwtRefusal(error) };
    }
    if (payload.exp! - payload.iat! > config.maxLifetimeSeconds) {
      return { ok: false, reason: `the JWT lives longer than ${config.maxLifetimeSeconds} s (exp − iat)` };
    }
    const code = payload[config.systemClaim];
    if (typeof code !== 'string') return { ok: false, reason: `the JWT has no "${config.systemClaim}" claim naming a system` };
    const system = catalogue.systems.find((s) => s.code === code);
    if (!system) return { ok: false, reason: `the JWT names system "${code}", which is not registered` };
    if (system.department !== config.department) {
      return { ok: false, reason: `issuer ${config.issuer} speaks for department ${config.department}; system "${code}" belongs to another` };
    }
    return { ok: true, principal: { kind: 'system', id: system.code, department: system.department }, issuer: config.issuer };
  }
}

/** Issuers naming a department the catalogue does not have (checked at start-up and by `hub config check`). */
export function issuerViolations(issuers: readonly JwtIssuerConfig[], catalogue: Pick<Catalogue, 'departments'>): ValidationError | undefined {
  const known = new Set(catalogue.departments.map((d) => d.code));
  const problems = issuers.flatMap((issuer, i) => (known.has(issuer.department)
    ? []
    : [{ where: 'config', path: `/auth/jwt/issuers/${i}/department`, rule: 'reference', message: `department "${issuer.department}" is not catalogued (known: ${[...known].join(', ')})` }]));
  return problems.length > 0 ? new ValidationError(problems) : undefined;
}

/** What was wrong with a JWT, in words a client's developer can act on. */
function jwtRefusal(error: errors.JOSEError): string {
  if (error instanceof errors.JWTExpired) return 'the JWT has expired';
  if (error instanceof errors.JWTClaimValidationFailed) {
    const claim = error.claim;
    if (claim === 'aud') return 'the JWT is not meant for this hub (aud)';
    if (claim === 'nbf') return 'the JWT is not valid yet (nbf)';
    if (claim === 'iat') return 'the JWT was issued too long ago or in the future (iat)';
    return `the JWT's "${claim}" claim is not acceptable`;
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'the JWT signature does not verify';
  if (error instanceof errors.JWKSNoMatchingKey) return "no key of the issuer's key set matches the JWT";
  if (error instanceof errors.JOSEAlgNotAllowed) return "the JWT's algorithm is not allowed";
  return 'the JWT is not valid';
}
