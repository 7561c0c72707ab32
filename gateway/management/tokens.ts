/**
 * Tokens through the API: only the platform operator (admin) issues, lists and revokes them. The
 * token is shown once; a revocation applies on every instance within seconds.
 */
import { adminRecordsFor, appendAdmin, type AdminRecord } from '../../audit/index.ts';
import type { PrincipalKind } from '../../policies/index.ts';
import { normaliseFingerprint, ValidationError, type SystemEntry } from '../../schema/index.ts';
import { getApplication, getCorrection, getDemand, getGrant, getResource } from '../../store/index.ts';
import type { HubContext } from '../context.ts';
import { issuePrincipalToken, listCredentials, revokePrincipalTokens, rotatePrincipalToken, type CredentialInfo } from '../credentials.ts';
import { hubError } from '../errors.ts';
import { reasonOrThrow } from './applications.ts';
import { can, requireAny } from './guard.ts';

const actorOf = (ctx: HubContext) => ({ id: ctx.principal.id, role: ctx.principal.kind, department: ctx.principal.department || null });

const badInput = (error: ValidationError) =>
  hubError('BAD_USER_INPUT', error.violations.map((v) => `${v.where}: ${v.message}`).join('; '), { violations: error.violations.map((v) => ({ path: v.where, rule: v.rule, message: v.message })) });

async function createToken(_: unknown, args: { role: PrincipalKind; principalId?: string | null; system?: string | null; department?: string | null; label?: string | null; expiresInDays?: number | null }, ctx: HubContext) {
  requireAny(ctx, 'issue', 'Token');
  const days = args.expiresInDays;
  if (days != null && (days < 1 || days > 1096)) throw hubError('BAD_USER_INPUT', 'expiresInDays must be 1-1096.', { argument: 'expiresInDays' });
  const id = args.role === 'system' ? (args.system ?? args.principalId ?? '') : (args.principalId ?? '');
  const system = args.role === 'system' ? ctx.runtime.catalogue.systems.find((s) => s.code === id) : undefined;
  try {
    const issued = await issuePrincipalToken(ctx.runtime.db, {
      kind: args.role,
      id,
      department: system?.department ?? args.department ?? '',
      label: args.label ?? `${args.role} ${id}`,
      actor: actorOf(ctx),
      expiresAt: days != null ? new Date(Date.now() + days * 86_400_000) : null,
    }, ctx.runtime.catalogue);
    return issued;
  } catch (error) {
    if (error instanceof ValidationError) throw badInput(error);
    throw error;
  }
}

async function rotateToken(_: unknown, args: { id: string; overlapHours: number; reason: string }, ctx: HubContext) {
  requireAny(ctx, 'issue', 'Token');
  requireAny(ctx, 'revoke', 'Token');
  const reason = reasonOrThrow(args.reason, 'A rotation');
  if (!/^[0-9a-f]{6,64}$/.test(args.id)) throw hubError('BAD_USER_INPUT', 'id must be a credential id (6+ hex digits, see `tokens`).', { argument: 'id' });
  if (!Number.isInteger(args.overlapHours) || args.overlapHours < 0 || args.overlapHours > 720) throw hubError('BAD_USER_INPUT', 'overlapHours must be 0-720.', { argument: 'overlapHours' });
  let rotated;
  try {
    rotated = await rotatePrincipalToken(ctx.runtime.db, args.id, args.overlapHours * 3600, actorOf(ctx), reason);
  } catch (error) {
    if (error instanceof ValidationError) throw badInput(error);
    throw error;
  }
  if (!rotated) throw hubError('NOT_FOUND', `No active token has id ${args.id}.`, { argument: 'id' });
  await ctx.runtime.changed('tokens');
  return rotated;
}

async function revokeToken(_: unknown, args: { id: string; reason: string }, ctx: HubContext): Promise<string[]> {
  requireAny(ctx, 'revoke', 'Token');
  const reason = reasonOrThrow(args.reason, 'A revocation');
  if (!/^[0-9a-f]{6,64}$/.test(args.id)) throw hubError('BAD_USER_INPUT', 'id must be a credential id (6+ hex digits, see `tokens`).', { argument: 'id' });
  const revoked = await revokePrincipalTokens(ctx.runtime.db, { id: args.id }, actorOf(ctx), reason);
  if (revoked.length === 0) throw hubError('NOT_FOUND', `No active token has id ${args.id}.`, { argument: 'id' });
  await ctx.runtime.changed('tokens');
  return revoked;
}

/** Re-reads the catalogue files and connectors on this instance (SIGHUP does the same); recorded in audit_admin. */
async function reloadCatalogue(_: unknown, args: { reason: string }, ctx: HubContext) {
  requireAny(ctx, 'reload', 'Catalogue');
  const reason = reasonOrThrow(args.reason, 'A catalogue reload');
  let result;
  try {
    result = await ctx.runtime.reloadCatalogue();
  } catch (error) {
    if (error instanceof ValidationError) {
      throw hubError('BAD_USER_INPUT', `The catalogue files are invalid; still serving the previous catalogue: ${error.violations.map((v) => `${v.where}: ${v.path} ${v.message}`).join('; ')}`);
    }
    throw error;
  }
  const actor = actorOf(ctx);
  await appendAdmin(ctx.runtime.db, { actor: actor.id, role: actor.role, department: actor.department, action: 'catalogue.reload', target: ctx.runtime.config.catalogue, reason, detail: result });
  return result;
}

/** Whether the caller may read the administrative history of this target. */
async function mayReadHistory(ctx: HubContext, target: string): Promise<boolean> {
  if (can(ctx, 'read', 'AuditTrail', {})) return true;
  const db = ctx.runtime.db;
  const [application, grant, demand, resource, correction] = await Promise.all([
    getApplication(db, target), getGrant(db, target), getDemand(db, target), getResource(db, target), getCorrection(db, target),
  ]);
  return (application !== null && can(ctx, 'read', 'Application', application))
    || (correction !== null && can(ctx, 'read', 'Correction', correction))
    || (grant !== null && can(ctx, 'read', 'Grant', grant))
    || (demand !== null && can(ctx, 'read', 'Demand', demand))
    || (resource !== null && can(ctx, 'update', 'Resource', resource));
}

/** Departments and systems are for people who manage or review sharing, not for systems. */
function requirePerson(ctx: HubContext, what: string): void {
  if (ctx.principal.kind === 'system' || ctx.principal.kind === 'portal') throw hubError('FORBIDDEN', `A ${ctx.principal.kind} token may not list ${what}.`);
}

export const tokenResolvers = {
  Query: {
    departments(_: unknown, _args: unknown, ctx: HubContext) {
      requirePerson(ctx, 'departments');
      return ctx.runtime.catalogue.departments.map((d) => ({ code: d.code, name: d.name }));
    },
    systems(_: unknown, args: { department?: string | null }, ctx: HubContext) {
      requirePerson(ctx, 'systems');
      return ctx.runtime.catalogue.systems
        .filter((s) => !args.department || s.department === args.department)
        .map((s: SystemEntry) => ({
          code: s.code,
          name: s.name,
          department: { code: s.department, name: ctx.runtime.departments.get(s.department) ?? s.department },
          peerHub: s.peerHub === true,
          certificates: (s.certificates ?? []).map(normaliseFingerprint),
        }));
    },
    async tokens(_: unknown, args: { role?: PrincipalKind | null; principalId?: string | null }, ctx: HubContext): Promise<CredentialInfo[]> {
      requireAny(ctx, 'read', 'Token');
      const list = await listCredentials(ctx.runtime.db, args.principalId ?? undefined);
      return list.filter((c) => !args.role || c.kind === args.role);
    },
    async adminChanges(_: unknown, args: { target: string }, ctx: HubContext): Promise<AdminRecord[]> {
      if (ctx.principal.kind === 'system') throw hubError('FORBIDDEN', 'A system token may not read administrative records.');
      if (!(await mayReadHistory(ctx, args.target))) throw hubError('NOT_FOUND', `${args.target} does not exist or is not visible to you.`);
      return adminRecordsFor(ctx.runtime.db, args.target);
    },
  },
  Mutation: { createToken, rotateToken, revokeToken, reloadCatalogue },
  Credential: {
    role: (c: CredentialInfo) => c.kind,
    createdAt: (c: CredentialInfo) => c.createdAt.toISOString(),
    revokedAt: (c: CredentialInfo) => c.revokedAt?.toISOString() ?? null,
    expiresAt: (c: CredentialInfo) => c.expiresAt?.toISOString() ?? null,
  },
  AdminChange: {
    at: (r: AdminRecord) => r.at.toISOString(),
  },
};
