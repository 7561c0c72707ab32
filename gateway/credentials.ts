/**
 * Bearer tokens of principals: department systems, data officers, admins, auditors and the portal.
 * A token is 256 random bits, shown once when issued; MongoDB keeps only its SHA-256 hash. (A fast hash is right for
 * high-entropy tokens: there is nothing to brute-force, and lookups stay O(1) by hash.)
 */
import { hash, randomBytes } from 'node:crypto';
import type { Collection, Db } from 'mongodb';
import { LRUCache } from 'lru-cache';
import { appendAdmin } from '../audit/index.ts';
import { PRINCIPAL_KINDS, type Principal, type PrincipalKind } from '../policies/index.ts';
import { ValidationError, type Catalogue, type Violation } from '../schema/index.ts';
import { bumpRevision } from '../store/index.ts';

export const CREDENTIALS_COLLECTION = 'credentials';
const TOKEN_PREFIX = 'ywgx_';

export interface CredentialDoc {
  readonly tokenHash: string;
  readonly kind: PrincipalKind;
  readonly principalId: string;
  readonly department: string;
  readonly label: string;
  readonly createdAt: Date;
  readonly revokedAt: Date | null;
  /** After this the token no longer authenticates (set when issued with a lifetime, or by a rotation's overlap). Absent: no expiry. */
  readonly expiresAt?: Date | null;
}

/** SHA-256 of a token, hex (one-shot `crypto.hash`: every request hashes its bearer token). */
export function hashToken(token: string): string {
  return hash('sha256', token, 'hex');
}

export function newToken(): string {
  return TOKEN_PREFIX + randomBytes(32).toString('base64url');
}

export async function ensureCredentialIndexes(db: Db): Promise<void> {
  await db.collection<CredentialDoc>(CREDENTIALS_COLLECTION).createIndex({ tokenHash: 1 }, { unique: true, name: 'tokenHash' });
}

/** Stores the hash of a new token; returns the token and the stored document. */
async function insertCredential(db: Db, principal: Principal, label: string, expiresAt: Date | null = null): Promise<{ token: string; doc: CredentialDoc }> {
  const token = newToken();
  const doc: CredentialDoc = {
    tokenHash: hashToken(token),
    kind: principal.kind,
    principalId: principal.id,
    department: principal.department,
    label,
    createdAt: new Date(),
    revokedAt: null,
    expiresAt,
  };
  // insertOne adds `_id` to the object it is given: give it a copy, so `doc` stays as declared.
  await db.collection<CredentialDoc>(CREDENTIALS_COLLECTION).insertOne({ ...doc });
  return { token, doc };
}

/**
 * Issues a token and stores its hash, without checks or admin record (demo, tests, benchmarks;
 * operators go through `issuePrincipalToken`). Returns the token: the only time it is ever visible.
 */
export async function issueToken(db: Db, principal: Principal, label: string): Promise<string> {
  return (await insertCredential(db, principal, label)).token;
}

/** Whether a stored credential authenticates at `now`: not revoked, not expired. */
export function credentialActive(doc: Pick<CredentialDoc, 'revokedAt' | 'expiresAt'>, now: number = Date.now()): boolean {
  return doc.revokedAt === null && (doc.expiresAt == null || doc.expiresAt.getTime() > now);
}

/** Whether a token is known, not revoked and not expired (used by the demo to reuse stored tokens). */
export async function tokenValid(db: Db, token: string): Promise<boolean> {
  const doc = await db.collection<CredentialDoc>(CREDENTIALS_COLLECTION).findOne({ tokenHash: hashToken(token), revokedAt: null });
  return doc !== null && credentialActive(doc);
}

/**
 * Resolves bearer tokens to principals. Lookups are cached briefly (`auth.cacheSeconds`, default
 * 10 s), so a revoked token stops working within that time.
 */
export class Authenticator {
  readonly #collection: Collection<CredentialDoc>;
  readonly #cache: LRUCache<string, { principal: Principal | null; expiresAt: number | null }> | undefined;

  readonly #deadlineMs: number;

  constructor(db: Db, options: { cacheTtlMs?: number; cacheSize?: number; deadlineMs?: number } = {}) {
    this.#collection = db.collection<CredentialDoc>(CREDENTIALS_COLLECTION);
    this.#deadlineMs = options.deadlineMs ?? 2000;
    const ttl = options.cacheTtlMs ?? 10_000;
    this.#cache = ttl > 0 ? new LRUCache({ max: options.cacheSize ?? 10_000, ttl }) : undefined;
  }

  /** `Date.now()` when the cache was created or last cleared: no cached look-up is older (metrics). */
  clearedAt = Date.now();

  /** Cached look-ups (metrics). */
  get cacheSize(): number {
    return this.#cache?.size ?? 0;
  }

  /** Forgets every cached lookup (a token was revoked somewhere: the next request asks MongoDB). */
  clear(): void {
    this.clearedAt = Date.now();
    this.#cache?.clear();
  }

  /** The principal of an `Authorization` header value, or null when absent, malformed, unknown, revoked or expired. */
  async authenticate(header: string | null): Promise<Principal | null> {
    const match = header ? /^Bearer\s+(\S{16,256})$/i.exec(header.trim()) : null;
    return match ? this.authenticateToken(match[1]!) : null;
  }

  /** The principal of a hub token, or null when unknown, revoked or expired. */
  authenticateToken(token: string): Promise<Principal | null> {
    return this.authenticateTokenHash(hashToken(token));
  }

  /** The same, from the token's hash (`hashToken`), for a caller that has it already. */
  async authenticateTokenHash(hash: string): Promise<Principal | null> {
    let entry = this.#cache?.get(hash);
    if (!entry) {
      const doc = await this.#collection.findOne({ tokenHash: hash, revokedAt: null }, { signal: AbortSignal.timeout(this.#deadlineMs) });
      entry = {
        principal: doc ? { kind: doc.kind, id: doc.principalId, department: doc.department } : null,
        expiresAt: doc?.expiresAt ? doc.expiresAt.getTime() : null,
      };
      this.#cache?.set(hash, entry);
    }
    // Checked on every use, cached or not: a rotated-out token stops at its expiry, not up to a cache lifetime later.
    return entry.expiresAt !== null && entry.expiresAt <= Date.now() ? null : entry.principal;
  }
}

/** A credential as operators see it: never the token, only a short id derived from its hash. */
export type CredentialInfo = Omit<CredentialDoc, 'tokenHash'> & { readonly id: string };

/** The first 12 hex digits of the token hash: enough to name a credential, useless to an attacker. */
export const credentialId = (tokenHash: string): string => tokenHash.slice(0, 12);

/** Credentials, oldest first: all, or those of one principal id and/or one role. */
export async function listCredentials(db: Db, principalId?: string, kind?: PrincipalKind): Promise<CredentialInfo[]> {
  const docs = await db.collection<CredentialDoc>(CREDENTIALS_COLLECTION)
    .find({ ...(principalId ? { principalId } : {}), ...(kind ? { kind } : {}) }, { projection: { _id: 0 } })
    .sort({ createdAt: 1 })
    .toArray();
  return docs.map(({ tokenHash, ...rest }) => ({ id: credentialId(tokenHash), ...rest }));
}

/**
 * What to revoke: one credential by its id (or a unique prefix of 6+ hex digits), or every active
 * credential of a principal (of one role, when `kind` is given: `--system mz-dibao` means the system).
 */
export type RevocationTarget = { readonly id: string } | { readonly principalId: string; readonly kind?: PrincipalKind };

/** Revokes the active credentials matching `target` at `at`; returns their ids. */
export async function revokeCredentials(db: Db, target: RevocationTarget, at: Date = new Date()): Promise<string[]> {
  const collection = db.collection<CredentialDoc>(CREDENTIALS_COLLECTION);
  const filter = 'id' in target
    ? { tokenHash: { $regex: `^${target.id.replace(/[^0-9a-f]/g, '')}` }, revokedAt: null }
    : { principalId: target.principalId, ...(target.kind ? { kind: target.kind } : {}), revokedAt: null };
  const docs = await collection.find(filter).toArray();
  if (docs.length === 0) return [];
  await collection.updateMany({ tokenHash: { $in: docs.map((d) => d.tokenHash) }, revokedAt: null }, { $set: { revokedAt: at } });
  return docs.map((d) => credentialId(d.tokenHash));
}

/** Who issues or revokes a token, for the admin-change record. */
export interface CredentialActor {
  readonly id: string;
  readonly role: string;
  readonly department: string | null;
}

export interface PrincipalSpec {
  readonly kind: PrincipalKind;
  /** The system code (role system) or the person's or service's id. */
  readonly id: string;
  /** Required for officers; a system's is its own; optional for admin, auditor and portal. */
  readonly department: string;
  readonly label: string;
  readonly actor: CredentialActor;
  /** The token stops working at this time (none: until revoked). */
  readonly expiresAt?: Date | null;
}

const PRINCIPAL_ID = /^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$/;

/** What is wrong with a principal for this catalogue; `where` names the option (e.g. `--department`). */
export function principalViolations(spec: Pick<PrincipalSpec, 'kind' | 'id' | 'department'>, catalogue: Pick<Catalogue, 'systems' | 'departments'>): Violation[] {
  const v = (where: string, rule: string, message: string): Violation => ({ where, path: '', rule, message });
  if (!PRINCIPAL_KINDS.includes(spec.kind)) return [v('--role', 'enum', `must be one of ${PRINCIPAL_KINDS.join(', ')}`)];
  const known = catalogue.departments.map((d) => d.code);
  if (spec.kind === 'system') {
    const system = catalogue.systems.find((s) => s.code === spec.id);
    if (!system) return [v('--system', 'reference', `"${spec.id}" is not a registered system (known: ${catalogue.systems.map((s) => s.code).join(', ')})`)];
    if (spec.department && spec.department !== system.department) return [v('--department', 'reference', `system "${spec.id}" belongs to department ${system.department}`)];
    return [];
  }
  const out: Violation[] = [];
  if (!PRINCIPAL_ID.test(spec.id)) out.push(v('--id', 'pattern', 'must be 1-64 letters, digits and _ . @ - (starting with a letter or digit)'));
  if (spec.kind === 'officer' && !spec.department) out.push(v('--department', 'required', 'is required for an officer: the department whose data officer this is'));
  else if (spec.department && !known.includes(spec.department)) out.push(v('--department', 'reference', `department "${spec.department}" is not catalogued (known: ${known.join(', ')})`));
  return out;
}

/**
 * Issues a token for a principal after checking it against the catalogue, and records the issue in
 * `audit_admin`. Used by `hub token create` and the admin's `createToken` mutation.
 */
export async function issuePrincipalToken(
  db: Db,
  spec: PrincipalSpec,
  catalogue: Pick<Catalogue, 'systems' | 'departments'>,
): Promise<{ token: string; credential: CredentialInfo }> {
  const violations = principalViolations(spec, catalogue);
  if (violations.length > 0) throw new ValidationError(violations);
  const department = spec.kind === 'system' ? catalogue.systems.find((s) => s.code === spec.id)!.department : spec.department;
  await ensureCredentialIndexes(db);
  const principal: Principal = { kind: spec.kind, id: spec.id, department };
  if (spec.expiresAt && spec.expiresAt.getTime() <= Date.now()) {
    throw new ValidationError([{ where: '--expires-in', path: '', rule: 'minimum', message: 'must lie in the future' }]);
  }
  const { token, doc: { tokenHash, ...rest } } = await insertCredential(db, principal, spec.label, spec.expiresAt ?? null);
  const credential: CredentialInfo = { id: credentialId(tokenHash), ...rest };
  await appendAdmin(db, {
    actor: spec.actor.id,
    role: spec.actor.role,
    department: spec.actor.department,
    action: 'token.create',
    target: spec.id,
    after: { credential: credential.id, kind: principal.kind, principalId: principal.id, department, ...(spec.expiresAt ? { expiresAt: spec.expiresAt } : {}) },
    reason: spec.label,
  });
  return { token, credential };
}

/**
 * Revokes tokens, records each revocation in `audit_admin`, and signals every hub instance to drop
 * its token cache (so the revocation applies within a second, not `auth.cacheSeconds`).
 */
export async function revokePrincipalTokens(db: Db, target: RevocationTarget, actor: CredentialActor, reason: string | null): Promise<string[]> {
  const revokedAt = new Date();
  const revoked = await revokeCredentials(db, target, revokedAt);
  for (const id of revoked) {
    await appendAdmin(db, {
      actor: actor.id, role: actor.role, department: actor.department, action: 'token.revoke', target: id,
      before: { active: true }, after: { revokedAt }, reason,
    });
  }
  if (revoked.length > 0) await bumpRevision(db, 'tokens');
  return revoked;
}

/**
 * Rotates a token without downtime: issues a new token for the same principal (same label) and lets
 * the old one work for `overlapSeconds` more, so the system can switch at its own pace. The old
 * token's expiry only ever moves earlier. Recorded in `audit_admin`; every instance drops its token
 * cache. Throws NOT_FOUND-style `null` when no active credential has that id.
 */
export async function rotatePrincipalToken(
  db: Db,
  id: string,
  overlapSeconds: number,
  actor: CredentialActor,
  reason: string | null,
): Promise<{ token: string; credential: CredentialInfo; previous: CredentialInfo } | null> {
  const collection = db.collection<CredentialDoc>(CREDENTIALS_COLLECTION);
  const now = Date.now();
  const candidates = (await collection.find({ tokenHash: { $regex: `^${id.replace(/[^0-9a-f]/g, '')}` }, revokedAt: null }, { projection: { _id: 0 } }).toArray())
    .filter((doc) => credentialActive(doc, now));
  if (candidates.length !== 1) {
    if (candidates.length > 1) throw new ValidationError([{ where: '--id', path: '', rule: 'unique', message: `${id} matches ${candidates.length} active tokens: give more digits` }]);
    return null;
  }
  const old = candidates[0]!;
  const principal: Principal = { kind: old.kind, id: old.principalId, department: old.department };
  const { token, doc: { tokenHash, ...rest } } = await insertCredential(db, principal, old.label);
  const overlapEnd = new Date(now + overlapSeconds * 1000);
  const expiresAt = old.expiresAt && old.expiresAt < overlapEnd ? old.expiresAt : overlapEnd;
  await collection.updateOne({ tokenHash: old.tokenHash }, { $set: { expiresAt } });
  const credential: CredentialInfo = { id: credentialId(tokenHash), ...rest };
  const { tokenHash: oldHash, ...oldRest } = old;
  const previous: CredentialInfo = { id: credentialId(oldHash), ...oldRest, expiresAt };
  await appendAdmin(db, {
    actor: actor.id, role: actor.role, department: actor.department, action: 'token.rotate', target: previous.id,
    before: { expiresAt: old.expiresAt ?? null }, after: { expiresAt, successor: credential.id }, reason,
  });
  await bumpRevision(db, 'tokens');
  return { token, credential, previous };
}
