/**
 * The management plane's GraphQL schema (same endpoint as the consumer API): sharing applications
 * (共享申请), grants, catalogue entries, data demands (需求清单) and tokens. Every operation is
 * checked against the caller's CASL abilities (policies/management.ts), deny by default.
 */
export const managementTypeDefs = /* GraphQL */ `
"""Any JSON value: used for catalogue resource definitions, validated by the catalogue's JSON Schema."""
scalar JSON

enum ItemAccess {
  "shown as is"
  clear
  "de-identified with the item's mask"
  masked
  "核验 only: match / no match"
  verify
}

enum ApplicationStatus { pending approved rejected escalated withdrawn }
enum GrantStatus { approved suspended revoked expired }
enum GrantState { active suspended revoked expired notYetValid }
enum EscalationDecision { "keep the refusal" uphold "direct the provider to grant" direct }
enum DemandStatus { open assigned answered }
enum Role { system officer admin auditor portal }

input ItemRequest {
  name: String!
  access: ItemAccess!
}

input ApplyInput {
  resource: String!
  items: [ItemRequest!]!
  "service items (政务服务事项) the data is for"
  purposes: [String!]!
  "systems of the department that will use it; empty = every system of the department"
  systems: [String!]
  validFrom: String!
  validUntil: String!
  expectedDailyVolume: Int!
  maxBatch: Int!
  reason: String!
}

input ApprovalTerms {
  "narrowed items with their access; default: as applied"
  items: [ItemRequest!]
  validFrom: String
  validUntil: String
  "subjects served per day across every instance; default: the expected daily volume"
  perDay: Int
  "most subjects in one request; default: as applied"
  maxBatch: Int
  "verification attempts per system, subject and resource per day; default 5"
  verifyPerDay: Int
  "items served only with the data subject's separate consent (biometric items always)"
  consentItems: [String!]
}

input ApplicationFilter {
  status: ApplicationStatus
  resource: String
  consumer: String
  provider: String
  "only pending applications past their deadline"
  overdue: Boolean
}

input GrantFilter {
  status: GrantStatus
  resource: String
  consumer: String
  provider: String
  purpose: String
  application: String
}

input DemandInput {
  title: String!
  description: String!
  purposes: [String!]!
}

input DemandFilter {
  status: DemandStatus
  consumer: String
  provider: String
}

type PageInfo {
  endCursor: String
  hasNextPage: Boolean!
}

type HistoryEntry {
  at: String!
  actor: String!
  role: String!
  department: String
  action: String!
  reason: String
  version: Int!
}

type GrantedItem {
  name: String!
  access: ItemAccess!
  consent: Boolean!
}

type Escalation {
  reason: String!
  at: String!
  by: String!
  resolution: EscalationDecision
  resolvedAt: String
  resolvedBy: String
  resolutionReason: String
}

type Application {
  id: ID!
  version: Int!
  status: ApplicationStatus!
  "pending and past its deadline"
  overdue: Boolean!
  resource: CatalogueResource
  resourceCode: String!
  provider: String!
  consumer: String!
  items: [GrantedItem!]!
  purposes: [String!]!
  systems: [String!]!
  validFrom: String!
  validUntil: String!
  expectedDailyVolume: Int!
  maxBatch: Int!
  reason: String!
  submittedAt: String!
  submittedBy: String!
  "last working day for the provider's answer"
  deadline: String!
  grant: Grant
  escalation: Escalation
  history: [HistoryEntry!]!
}

type Quota {
  perDay: Int
  maxBatch: Int
  verifyPerDay: Int
}

type Grant {
  id: ID!
  version: Int!
  status: GrantStatus!
  "status combined with the period, as enforced today"
  state: GrantState!
  resource: String!
  provider: String
  consumer: String!
  systems: [String!]!
  purposes: [String!]!
  items: [GrantedItem!]!
  validFrom: String!
  validUntil: String!
  quota: Quota
  "subjects served today under this grant (daily quota use); past 1 024 a day, units leased to hub processes in blocks of 64 count as used"
  usedToday: Int!
  application: String
  history: [HistoryEntry!]!
}

type Demand {
  id: ID!
  version: Int!
  status: DemandStatus!
  consumer: String!
  title: String!
  description: String!
  purposes: [String!]!
  provider: String
  answer: String
  resource: String
  createdAt: String!
  history: [HistoryEntry!]!
}

type ApplicationConnection { nodes: [Application!]! pageInfo: PageInfo! totalCount: Int! }
type GrantConnection { nodes: [Grant!]! pageInfo: PageInfo! totalCount: Int! }
type DemandConnection { nodes: [Demand!]! pageInfo: PageInfo! totalCount: Int! }

type Credential {
  id: String!
  role: Role!
  principalId: String!
  department: String!
  label: String!
  createdAt: String!
  revokedAt: String
  "when the token stops working (issued with a lifetime, or the old token of a rotation); null: until revoked"
  expiresAt: String
}

type CatalogueReload {
  connectors: Int!
  resources: Int!
}

type IssuedToken {
  "shown once: only its hash is stored"
  token: String!
  credential: Credential!
}

type RotatedToken {
  "the successor, shown once"
  token: String!
  credential: Credential!
  "the rotated token, which keeps working until its expiresAt"
  previous: Credential!
}

type AdminChange {
  at: String!
  actor: String!
  role: String
  department: String
  action: String!
  target: String!
  reason: String
  before: JSON
  after: JSON
}

type RegisteredSystem {
  code: String!
  name: String!
  department: Department!
  "another region's hub (跨域通办)"
  peerHub: Boolean!
  "SHA-256 fingerprints of the client certificates bound to it (mutual TLS); empty: it authenticates with tokens or JWTs"
  certificates: [String!]!
}

extend type Query {
  "Officers, auditors and admins: the catalogued departments."
  departments: [Department!]!
  "Officers, auditors and admins: the registered consumer systems, optionally of one department."
  systems(department: String): [RegisteredSystem!]!
  "Applications the caller may see (own department as consumer or provider), by id."
  applications(filter: ApplicationFilter, first: Int = 20, after: String): ApplicationConnection!
  "Applications awaiting the caller's department's answer, earliest deadline first."
  pendingApplications(first: Int = 50, after: String): ApplicationConnection!
  application(id: ID!): Application
  grants(filter: GrantFilter, first: Int = 20, after: String): GrantConnection!
  grant(id: ID!): Grant
  demands(filter: DemandFilter, first: Int = 20, after: String): DemandConnection!
  "Tokens (never the tokens themselves): admin only."
  tokens(role: Role, principalId: String): [Credential!]!
  "Administrative changes of one object (an application, grant, resource, demand or token), oldest first."
  adminChanges(target: String!): [AdminChange!]!
}

type Mutation {
  "A consumer department's officer applies for a conditional resource (共享申请)."
  applyForAccess(input: ApplyInput!): Application!
  withdrawApplication(id: ID!, reason: String!): Application!
  "The provider's officer approves, possibly narrowed; the grant takes effect on every instance within seconds."
  approveApplication(id: ID!, terms: ApprovalTerms, reason: String): Application!
  "The provider's officer refuses; the reason is mandatory (51号: a refusal states its reasons)."
  rejectApplication(id: ID!, reason: String!): Application!
  "The consumer takes a refusal to the coordination group (共享协调)."
  escalateApplication(id: ID!, reason: String!): Application!
  "The platform operator settles an escalation: uphold the refusal, or direct a grant."
  resolveEscalation(id: ID!, decision: EscalationDecision!, reason: String!, terms: ApprovalTerms): Application!
  suspendGrant(id: ID!, reason: String!): Grant!
  resumeGrant(id: ID!, reason: String!): Grant!
  revokeGrant(id: ID!, reason: String!): Grant!
  "Registers a resource of the officer's department (same JSON Schema and messages as resources/*.yaml)."
  registerResource(resource: JSON!, reason: String): CatalogueResource!
  updateResource(code: String!, resource: JSON!, reason: String!): CatalogueResource!
  fileDemand(input: DemandInput!): Demand!
  assignDemand(id: ID!, provider: String!, reason: String!): Demand!
  answerDemand(id: ID!, answer: String!, resource: String): Demand!
  createToken(role: Role!, principalId: String, system: String, department: String, label: String, "the token stops working after this many days (1-1096); none: until revoked" expiresInDays: Int): IssuedToken!
  "Admin: issues a successor for a token (same principal and label); the old one keeps working for overlapHours (0-720), then expires. No downtime for the system."
  rotateToken(id: String!, overlapHours: Int = 24, reason: String!): RotatedToken!
  revokeToken(id: String!, reason: String!): [String!]!
  "Admin: re-reads the catalogue files and connectors on this hub instance, as SIGHUP does (no request is dropped)."
  reloadCatalogue(reason: String!): CatalogueReload!
}
`;
