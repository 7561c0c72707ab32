/**
 * Discovery: the catalogue and the registered purposes, so a department can find what to ask for.
 */
import type { Purpose, Resource, SubjectType } from '../../schema/index.ts';
import type { HubContext } from '../context.ts';

export const catalogueResolvers = {
  Query: {
    catalogue: (_: unknown, args: { subject?: SubjectType | null }, ctx: HubContext) =>
      ctx.runtime.catalogue.resources.filter((r) => !args.subject || r.subject === args.subject),
    purposes: (_: unknown, _args: unknown, ctx: HubContext) => ctx.runtime.catalogue.purposes,
    me: (_: unknown, _args: unknown, ctx: HubContext) => ctx.principal,
  },
  CatalogueResource: {
    provider: (r: Resource, _: unknown, ctx: HubContext) => ({ code: r.provider, name: ctx.runtime.departments.get(r.provider) ?? r.provider }),
    level: (r: Resource) => r.level ?? 'general',
  },
  PurposeInfo: {
    resources: (p: Purpose) => p.resources ?? null,
  },
};
