/**
 * Data officers catalogue their own department's resources (编目) through the API, validated by the
 * same JSON Schemas and cross-reference rules as the catalogue files, with the same messages. The
 * GraphQL schema is regenerated from the new catalogue on every instance, without a restart.
 */
import { formatViolation, resourceViolations, withResourceDefaults, type Resource } from '../../schema/index.ts';
import { getResource, insertResource, replaceResource } from '../../store/index.ts';
import type { HubContext } from '../context.ts';
import { hubError } from '../errors.ts';
import { reasonOrThrow } from './applications.ts';
import { actor, authorize, can, recordChange, requireAny } from './guard.ts';

function checked(ctx: HubContext, data: unknown): Resource {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw hubError('BAD_USER_INPUT', 'resource must be an object with the fields of a catalogue resource file (see docs/catalogue.md).', { argument: 'resource' });
  }
  const { grants: _grants, ...others } = ctx.runtime.catalogue;
  const violations = resourceViolations(data, 'resource', others);
  if (violations.length > 0) {
    throw hubError('BAD_USER_INPUT', `The resource is invalid:\n${violations.map(formatViolation).join('\n')}`, {
      argument: 'resource',
      violations: violations.map((v) => ({ path: v.path, rule: v.rule, message: v.message })),
    });
  }
  return withResourceDefaults(data);
}

async function registerResource(_: unknown, args: { resource: unknown; reason?: string | null }, ctx: HubContext): Promise<Resource> {
  requireAny(ctx, 'register', 'Resource');
  const r = checked(ctx, args.resource);
  if (!can(ctx, 'register', 'Resource', r)) {
    throw hubError('FORBIDDEN', `You may register resources of your own department (${ctx.principal.department}) only; this one names provider ${r.provider}.`);
  }
  const reason = args.reason?.trim() || null;
  if (!(await insertResource(ctx.runtime.db, r, actor(ctx, 'register', reason)))) {
    throw hubError('CONFLICT', `Resource ${r.code} is already catalogued; use updateResource.`, { resource: r.code });
  }
  await recordChange(ctx, { action: 'resource.register', target: r.code, after: r, reason });
  await ctx.runtime.changed('catalogue');
  return r;
}

async function updateResource(_: unknown, args: { code: string; resource: unknown; reason: string }, ctx: HubContext): Promise<Resource> {
  const current = authorize(ctx, 'update', 'Resource', await getResource(ctx.runtime.db, args.code), args.code);
  const reason = reasonOrThrow(args.reason, 'A catalogue change');
  const r = checked(ctx, args.resource);
  if (r.code !== args.code) throw hubError('BAD_USER_INPUT', `The resource's code (${r.code}) must stay ${args.code}; register a new resource instead.`, { argument: 'resource' });
  if (!can(ctx, 'update', 'Resource', r)) throw hubError('FORBIDDEN', `A resource stays with its provider; you may not hand ${args.code} to ${r.provider}.`);
  const after = await replaceResource(ctx.runtime.db, current, r, actor(ctx, 'update', reason));
  if (!after) throw hubError('CONFLICT', `Resource ${args.code} was changed by someone else meanwhile; reload it and try again.`);
  const { history: _h, ...before } = current;
  await recordChange(ctx, { action: 'resource.update', target: r.code, before, after: r, reason });
  await ctx.runtime.changed('catalogue');
  return r;
}

export const catalogueManagementResolvers = {
  Mutation: { registerResource, updateResource },
};
