/**
 * Data demands (需求清单): a consumer officer files a need no catalogued resource meets, the
 * platform operator assigns it to a provider department, and the provider answers.
 */
import type { Demand, DemandStatus } from '../../schema/index.ts';
import { changeDemand, getDemand, insertDemand, listDemands, newId } from '../../store/index.ts';
import type { HubContext } from '../context.ts';
import { hubError } from '../errors.ts';
import { connection, page, reasonOrThrow } from './applications.ts';
import { actor, authorize, pageSize, recordChange, requireAny, visibleFilter } from './guard.ts';

const bad = (message: string, argument: string) => hubError('BAD_USER_INPUT', message, { argument });

async function fileDemand(_: unknown, { input }: { input: { title: string; description: string; purposes: string[] } }, ctx: HubContext): Promise<Demand> {
  requireAny(ctx, 'file', 'Demand');
  const title = input.title.trim();
  const description = input.description.trim();
  if (!title || title.length > 200) throw bad('title must be 1–200 characters.', 'title');
  if (!description || description.length > 4000) throw bad('description must be 1–4000 characters.', 'description');
  for (const code of input.purposes) {
    if (!ctx.runtime.purposes.has(code)) throw bad(`purpose "${code}" is not registered.`, 'purposes');
  }
  if (input.purposes.length === 0) throw bad('purposes must name at least one service item.', 'purposes');
  const id = newId('XQ', ctx.runtime.today());
  const demand: Demand = {
    id, version: 1, consumer: ctx.principal.department, title, description, purposes: [...input.purposes], status: 'open', createdAt: new Date(),
    history: [{ ...actor(ctx, 'file', null), at: new Date(), version: 1 }],
  };
  await insertDemand(ctx.runtime.db, demand);
  await recordChange(ctx, { action: 'demand.file', target: id, after: { ...demand, history: undefined } });
  return demand;
}

async function step(ctx: HubContext, d: Demand, set: Partial<Demand>, action: string, reason: string | null): Promise<Demand> {
  const after = await changeDemand(ctx.runtime.db, d, set, actor(ctx, action, reason));
  if (!after) throw hubError('CONFLICT', `Demand ${d.id} was changed by someone else meanwhile; reload it and try again.`);
  await recordChange(ctx, { action: `demand.${action}`, target: d.id, before: { status: d.status, provider: d.provider ?? null }, after: { status: after.status, provider: after.provider ?? null, answer: after.answer ?? null }, reason });
  return after;
}

async function assignDemand(_: unknown, args: { id: string; provider: string; reason: string }, ctx: HubContext): Promise<Demand> {
  const d = authorize(ctx, 'assign', 'Demand', await getDemand(ctx.runtime.db, args.id), args.id);
  const reason = reasonOrThrow(args.reason, 'An assignment');
  if (!ctx.runtime.departments.has(args.provider)) throw bad(`department "${args.provider}" is not catalogued.`, 'provider');
  if (d.status === 'answered') throw hubError('CONFLICT', `Demand ${d.id} is already answered.`);
  return step(ctx, d, { status: 'assigned', provider: args.provider }, 'assign', reason);
}

async function answerDemand(_: unknown, args: { id: string; answer: string; resource?: string | null }, ctx: HubContext): Promise<Demand> {
  const d = authorize(ctx, 'answer', 'Demand', await getDemand(ctx.runtime.db, args.id), args.id);
  const answer = reasonOrThrow(args.answer, 'An answer');
  if (d.status !== 'assigned') throw hubError('CONFLICT', `Demand ${d.id} is ${d.status}; only an assigned demand can be answered.`);
  if (args.resource && !ctx.runtime.resources.has(args.resource)) throw bad(`resource "${args.resource}" is not catalogued.`, 'resource');
  return step(ctx, d, { status: 'answered', answer, ...(args.resource ? { resource: args.resource } : {}) }, 'answer', answer);
}

export const demandResolvers = {
  Query: {
    async demands(_: unknown, args: { filter?: { status?: DemandStatus | null; consumer?: string | null; provider?: string | null } | null; first?: number; after?: string | null }, ctx: HubContext) {
      requireAny(ctx, 'read', 'Demand');
      return connection(await page(() => listDemands(ctx.runtime.db, visibleFilter(ctx, 'Demand'), args.filter ?? {}, pageSize(args.first), args.after)));
    },
  },
  Mutation: { fileDemand, assignDemand, answerDemand },
  Demand: {
    createdAt: (d: Demand) => d.createdAt.toISOString(),
  },
};
