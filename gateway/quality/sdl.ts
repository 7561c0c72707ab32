/**
 * Data quality (数据质量) and corrections (数据纠错): a resource's quality report for its provider's
 * data officers (and the platform operator and auditors), and correction requests filed by whoever
 * was served a value, answered by the provider by a deadline in working days. Served values an open
 * request disputes are flagged in the consumer response's `extensions.quality.disputed`.
 */
export const qualityTypeDefs = /* GraphQL */ `
enum CorrectionStatus { open corrected rejected }

enum CorrectionOutcome {
  "the provider corrected the value in its source (a note may say how)"
  corrected
  "the value stands; the reason is mandatory"
  rejected
}

enum FreshnessStatus {
  "changed within what the declared update frequency allows"
  fresh
  "not changed for longer than the declared update frequency allows"
  stale
  "the source cannot tell when its data last changed (REST, MongoDB, another hub), or could not be asked"
  unknown
  "no update frequency declared, or irregular: nothing to judge against"
  undeclared
}

input CorrectionInput {
  "resource code, e.g. RS-SOCIAL-INSURANCE"
  resource: String!
  "the data subject's key: citizen ID number or unified social credit code (stored only as a keyed hash)"
  key: String!
  "the information item (信息项) whose value is wrong"
  item: String!
  "what is wrong, for the provider to check (no personal identifiers)"
  note: String!
  "the operator (经办人) who found the error; required of a department system"
  operator: String
  "the case (办件编号) the value was used for"
  caseId: String
  "x-request-id of the response that served the value; the access trail must show that response served this item of this subject to you"
  requestId: String
}

type CorrectionRequest {
  id: ID!
  version: Int!
  status: CorrectionStatus!
  "open and past its deadline"
  overdue: Boolean!
  resource: String!
  "the provider department, whose data officers answer"
  provider: String!
  "the requesting department"
  consumer: String!
  "the requesting system or officer"
  requester: String!
  requesterRole: String!
  subjectType: SubjectType!
  item: String!
  note: String!
  operator: String
  caseId: String
  "the access record (<log>#<seq>) that served the disputed value; null when the provider flagged its own data"
  servedRecord: String
  submittedAt: String!
  "last working day for the provider's answer"
  deadline: String!
  "the provider's answer: what was corrected, or why the value stands"
  answer: String
  answeredAt: String
  answeredBy: String
  history: [HistoryEntry!]!
}

type CorrectionConnection { nodes: [CorrectionRequest!]! pageInfo: PageInfo! totalCount: Int! }

type ItemValidity {
  item: String!
  "values of this item withheld as UPSTREAM_INVALID"
  invalid: Int!
}

type QualityDay {
  day: String!
  records: Int!
  items: Int!
  invalidItems: Int!
  validityRate: Float
}

type Freshness {
  status: FreshnessStatus!
  updateFrequency: String
  "when the source's data last changed, as its connector tells (ISO instant); null when it cannot"
  lastChanged: String
  "how the hub knows: a file's modification time, a column's latest value"
  basis: String
  "the oldest data still fresh for the declared frequency"
  maxAgeSeconds: Int
  ageSeconds: Int
  detail: String!
}

type QualityReport {
  resource: String!
  provider: String!
  "first and last day covered (the deployment's calendar days, inclusive)"
  from: String!
  to: String!
  "records the department returned (one per subject answered)"
  records: Int!
  "records with at least one value withheld as UPSTREAM_INVALID"
  invalidRecords: Int!
  "subjects answered with two different records (neither served, UPSTREAM_INVALID)"
  conflictingRecords: Int!
  "reads that failed: the department unavailable or too slow"
  failedReads: Int!
  "item values checked against the catalogue's types"
  items: Int!
  "values served (they passed)"
  validItems: Int!
  "values withheld as UPSTREAM_INVALID"
  invalidItems: Int!
  "validItems / items; null when nothing was checked"
  validityRate: Float
  "every item of the resource with its count of values withheld"
  invalidByItem: [ItemValidity!]!
  "per day with reads, oldest first"
  days: [QualityDay!]!
  freshness: Freshness!
  "correction requests of this resource still open, and those of them past their deadline"
  openCorrections: Int!
  overdueCorrections: Int!
}

extend type Query {
  "A resource's data quality over a period (default: the last 30 days; at most 366): its provider's officers, the platform operator and auditors."
  qualityReport(resource: String!, from: String, to: String): QualityReport!
  "Correction requests the caller may see (the provider's officers: about their resources; requesters: their own), earliest deadline first."
  correctionRequests(status: CorrectionStatus, overdue: Boolean, resource: String, "only requests about this subject (hashed, never stored)" key: String, first: Int = 20, after: String): CorrectionConnection!
  correctionRequest(id: ID!): CorrectionRequest
}

extend type Mutation {
  "Disputes a value you were served (数据纠错), or, as the provider's officer, flags a known error in your data. Open until the provider answers; meanwhile responses flag the value as disputed."
  requestCorrection(input: CorrectionInput!): CorrectionRequest!
  "The provider's officer answers a correction request: corrected, or rejected with a reason."
  answerCorrection(id: ID!, outcome: CorrectionOutcome!, note: String): CorrectionRequest!
}
`;
