/**
 * `hub token create | list | revoke`: bearer tokens of principals (systems, officers, admins,
 * auditors, the portal). A token is printed once; only its hash is stored. Every issue and
 * revocation is recorded in `audit_admin`.
 */
import { userInfo } from 'node:os';
import type { PrincipalKind } from '../../policies/index.ts';
import { ValidationError } from '../../schema/index.ts';
import { loadConfig } from '../config.ts';
import { credentialActive, issuePrincipalToken, listCredentials, principalViolations, revokePrincipalTokens, rotatePrincipalToken, type CredentialInfo, type RevocationTarget } from '../credentials.ts';
import { loadHubCatalogue } from '../runtime.ts';
import { withHubDb } from '../mongo/client.ts';
import { withAdminChange } from './admin-log.ts';

const actor = () => ({ id: `cli:${userInfo().username}`, role: 'cli', department: null });

/** `hub token create`: a token for a principal of one role, printed once. */
export async function createPrincipalToken(configPath: string, spec: { kind: PrincipalKind; id: string; department: string; label: string | undefined; expiresAt?: Date | undefined }): Promise<string> {
  const config = await loadConfig(configPath);
  const catalogue = await loadHubCatalogue(config.catalogue);
  // Check against the catalogue before connecting, so a typo never waits for MongoDB.
  const violations = principalViolations(spec, catalogue);
  if (violations.length > 0) throw new ValidationError(violations);
  const system = spec.kind === 'system' ? catalogue.systems.find((s) => s.code === spec.id) : undefined;
  const label = spec.label || system?.name || `${spec.kind} ${spec.id}`;
  return withAdminChange(config, async (db) => (await issuePrincipalToken(db, { ...spec, label, expiresAt: spec.expiresAt ?? null, actor: actor() }, catalogue)).token);
}

/** `hub token list`: every credential, or those of one principal and/or one role. */
export async function listTokens(configPath: string, filter: { principalId?: string | undefined; role?: PrincipalKind | undefined }): Promise<CredentialInfo[]> {
  return withHubDb(await loadConfig(configPath), (db) => listCredentials(db, filter.principalId, filter.role));
}

/** `hub token revoke`: one credential by id, or every active token of a system (`--system`). */
export async function revokeTokens(configPath: string, target: RevocationTarget, reason: string | undefined): Promise<string[]> {
  if ('id' in target && !/^[0-9a-f]{6,64}$/.test(target.id)) {
    throw new ValidationError([{ where: '--id', path: '', rule: 'pattern', message: 'must be a credential id (6+ hex digits, see `hub token list`)' }]);
  }
  return withAdminChange(await loadConfig(configPath), (db) => revokePrincipalTokens(db, target, actor(), reason ?? null));
}

/** `90d`, `12h`, `30m`, `45s` in seconds (0 to 3 years), else undefined. */
export function parseDuration(raw: string): number | undefined {
  const match = /^([0-9]{1,6})([smhd])$/.exec(raw.trim());
  if (!match) return undefined;
  const seconds = Number(match[1]) * { s: 1, m: 60, h: 3600, d: 86_400 }[match[2] as 's' | 'm' | 'h' | 'd'];
  return seconds <= 3 * 366 * 86_400 ? seconds : undefined;
}

/** `hub token rotate`: a successor token for the same principal; the old one expires after the overlap. */
export async function rotateToken(configPath: string, id: string, overlapSeconds: number, reason: string | undefined) {
  if (!/^[0-9a-f]{6,64}$/.test(id)) {
    throw new ValidationError([{ where: '--id', path: '', rule: 'pattern', message: 'must be a credential id (6+ hex digits, see `hub token list`)' }]);
  }
  const rotated = await withAdminChange(await loadConfig(configPath), (db) => rotatePrincipalToken(db, id, overlapSeconds, actor(), reason ?? null));
  if (!rotated) throw new ValidationError([{ where: '--id', path: '', rule: 'reference', message: `no active token has id ${id} (see \`hub token list\`)` }]);
  return rotated;
}

/** A credential's state for listings: active (with its expiry, if any), expired or revoked. */
function credentialState(c: CredentialInfo): string {
  if (c.revokedAt) return `revoked ${c.revokedAt.toISOString()}`;
  if (!credentialActive(c)) return `expired ${c.expiresAt!.toISOString()}`;
  return c.expiresAt ? `active until ${c.expiresAt.toISOString()}` : 'active';
}

/** One line per credential, tab-separated: id, role, principal, department, created, state, label. */
export function formatCredentials(list: readonly CredentialInfo[]): string[] {
  if (list.length === 0) return ['no tokens'];
  return list.map((c) => [c.id, c.kind, c.principalId, c.department, c.createdAt.toISOString(), credentialState(c), c.label].join('\t'));
}
