/**
 * The citizen service portal (一网通办) records a data subject's separate consent (单独同意) and its
 * withdrawal. The subject's ID number is stored only as the keyed hash the audit trail uses.
 */
import { subjectHash } from '../../audit/index.ts';
import { idNumberProblem, type Consent } from '../../schema/index.ts';
import { consentsOfSubject, getConsent, insertConsent, newId, withdrawConsent } from '../../store/index.ts';
import type { HubContext } from '../context.ts';
import { hubError } from '../errors.ts';
import { reasonOrThrow } from '../management/applications.ts';
import { recordChange, requireAny } from '../management/guard.ts';

export const portalTypeDefs = /* GraphQL */ `
input ConsentInput {
  "the data subject's citizen ID number (stored only as a keyed hash)"
  idNumber: String!
  "the department that may use the items"
  consumer: String!
  "the service item (政务服务事项) the consent is for"
  purpose: String!
  "items the consent covers, as RESOURCE.item, e.g. GA-FACE.photo"
  items: [String!]!
  "last day the consent is in force (YYYY-MM-DD)"
  validUntil: String!
}

type Consent {
  "the reference a department system presents as access(consentRef: …)"
  id: ID!
  consumer: String!
  purpose: String!
  items: [String!]!
  validUntil: String!
  recordedAt: String!
  recordedBy: String!
  withdrawnAt: String
  withdrawnReason: String
  "not withdrawn and not past validUntil"
  inForce: Boolean!
}

extend type Query {
  "A data subject's consents, for the portal to show them (portal only)."
  consents(idNumber: String!): [Consent!]!
}

extend type Mutation {
  "Records a data subject's separate consent (portal only)."
  recordConsent(input: ConsentInput!): Consent!
  "Withdraws a consent: from now on the items it covered are refused (portal only)."
  withdrawConsent(id: ID!, reason: String!): Consent!
}
`;

const bad = (message: string, argument: string) => hubError('BAD_USER_INPUT', message, { argument });

function checkIdNumber(idNumber: string): void {
  const problem = idNumberProblem(idNumber);
  if (problem) throw bad(`idNumber is not a valid citizen ID number (GB 11643): it ${problem}.`, 'idNumber');
}

async function recordConsent(_: unknown, { input }: { input: { idNumber: string; consumer: string; purpose: string; items: string[]; validUntil: string } }, ctx: HubContext): Promise<Consent> {
  requireAny(ctx, 'record', 'Consent');
  checkIdNumber(input.idNumber);
  const { runtime } = ctx;
  if (!runtime.departments.has(input.consumer)) throw bad(`department "${input.consumer}" is not catalogued.`, 'consumer');
  const purpose = runtime.purposes.get(input.purpose);
  if (!purpose) throw bad(`purpose "${input.purpose}" is not registered.`, 'purpose');
  if (!purpose.departments.includes(input.consumer)) throw bad(`department ${input.consumer} does not handle purpose ${input.purpose}.`, 'purpose');
  if (input.items.length === 0) throw bad('items must name at least one RESOURCE.item.', 'items');
  for (const name of input.items) {
    const [code, item, ...rest] = name.split('.');
    const r = code ? runtime.resources.get(code) : undefined;
    if (!r || !item || rest.length > 0 || !r.items.some((i) => i.name === item)) throw bad(`"${name}" is not a catalogued RESOURCE.item.`, 'items');
  }
  const today = runtime.today();
  if (!/^\d{4}-\d{2}-\d{2}$/.test(input.validUntil) || Number.isNaN(Date.parse(input.validUntil))) throw bad('validUntil must be a date YYYY-MM-DD.', 'validUntil');
  if (input.validUntil < today) throw bad(`validUntil ${input.validUntil} is in the past.`, 'validUntil');
  const consent: Consent = {
    id: newId('CS', today),
    subject: subjectHash(runtime.subjectKey, input.idNumber),
    consumer: input.consumer,
    purpose: input.purpose,
    items: [...new Set(input.items)],
    validUntil: input.validUntil,
    recordedAt: new Date(),
    recordedBy: ctx.principal.id,
    withdrawnAt: null,
    withdrawnReason: null,
  };
  await insertConsent(runtime.db, consent);
  await recordChange(ctx, { action: 'consent.record', target: consent.id, after: { consumer: consent.consumer, purpose: consent.purpose, items: consent.items, validUntil: consent.validUntil } });
  return consent;
}

async function withdraw(_: unknown, args: { id: string; reason: string }, ctx: HubContext): Promise<Consent> {
  requireAny(ctx, 'withdraw', 'Consent');
  const reason = reasonOrThrow(args.reason, 'A withdrawal');
  const after = await withdrawConsent(ctx.runtime.db, args.id, reason);
  if (!after) {
    const existing = await getConsent(ctx.runtime.db, args.id);
    if (!existing) throw hubError('NOT_FOUND', `Consent ${args.id} does not exist.`);
    throw hubError('CONFLICT', `Consent ${args.id} was already withdrawn on ${existing.withdrawnAt?.toISOString().slice(0, 10)}.`);
  }
  await recordChange(ctx, { action: 'consent.withdraw', target: args.id, before: { withdrawnAt: null }, after: { withdrawnAt: after.withdrawnAt }, reason });
  return after;
}

export const portalResolvers = {
  Query: {
    async consents(_: unknown, args: { idNumber: string }, ctx: HubContext): Promise<Consent[]> {
      requireAny(ctx, 'read', 'Consent');
      checkIdNumber(args.idNumber);
      return consentsOfSubject(ctx.runtime.db, subjectHash(ctx.runtime.subjectKey, args.idNumber));
    },
  },
  Mutation: { recordConsent, withdrawConsent: withdraw },
  Consent: {
    recordedAt: (c: Consent) => c.recordedAt.toISOString(),
    withdrawnAt: (c: Consent) => c.withdrawnAt?.toISOString() ?? null,
    inForce: (c: Consent, _: unknown, ctx: HubContext) => c.withdrawnAt === null && c.validUntil >= ctx.runtime.today(),
  },
};
