/**
 * The management plane (data officers, the platform operator), the portal's consent API, the
 * auditors' API, and data quality and corrections: SDL and resolvers, merged into the one schema
 * by gateway/schema.ts.
 */
import { auditingResolvers } from '../auditing/resolvers.ts';
import { auditingTypeDefs } from '../auditing/sdl.ts';
import { portalResolvers, portalTypeDefs } from '../portal/consents.ts';
import { correctionResolvers } from '../quality/corrections.ts';
import { qualityReportResolvers } from '../quality/reports.ts';
import { qualityTypeDefs } from '../quality/sdl.ts';
import { applicationResolvers } from './applications.ts';
import { catalogueManagementResolvers } from './catalogue.ts';
import { demandResolvers } from './demands.ts';
import { grantResolvers } from './grants.ts';
import { JSONScalar } from './json.ts';
import { managementTypeDefs } from './sdl.ts';
import { tokenResolvers } from './tokens.ts';

export const roleTypeDefs = [managementTypeDefs, portalTypeDefs, auditingTypeDefs, qualityTypeDefs];

export const roleResolvers = {
  JSON: JSONScalar,
  Query: {
    ...applicationResolvers.Query,
    ...grantResolvers.Query,
    ...demandResolvers.Query,
    ...tokenResolvers.Query,
    ...portalResolvers.Query,
    ...auditingResolvers.Query,
    ...qualityReportResolvers.Query,
    ...correctionResolvers.Query,
  },
  Mutation: {
    ...applicationResolvers.Mutation,
    ...grantResolvers.Mutation,
    ...catalogueManagementResolvers.Mutation,
    ...demandResolvers.Mutation,
    ...tokenResolvers.Mutation,
    ...portalResolvers.Mutation,
    ...auditingResolvers.Mutation,
    ...correctionResolvers.Mutation,
  },
  Application: applicationResolvers.Application,
  Escalation: applicationResolvers.Escalation,
  HistoryEntry: applicationResolvers.HistoryEntry,
  Grant: grantResolvers.Grant,
  Demand: demandResolvers.Demand,
  Credential: tokenResolvers.Credential,
  AdminChange: tokenResolvers.AdminChange,
  Consent: portalResolvers.Consent,
  CorrectionRequest: correctionResolvers.CorrectionRequest,
};
