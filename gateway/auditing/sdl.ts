/**
 * The auditor's interface (search, one record with its inclusion proof, verification of the whole
 * trail, disclosure) and the data subject's view through the citizen portal.
 */
export const auditingTypeDefs = /* GraphQL */ `
enum AuditKind { access admin }
enum AccessDecision { allow partial deny }

input AuditFilter {
  "access records (default) or administrative changes"
  kind: AuditKind
  "ISO date-time bounds: from inclusive, to exclusive"
  from: String
  to: String
  department: String
  system: String
  operator: String
  resource: String
  purpose: String
  caseId: String
  decision: AccessDecision
  "refusal or failure code, e.g. FORBIDDEN, QUOTA_EXCEEDED"
  code: String
  "the data subject: the hub hashes it with its subject key; never stored or logged"
  idNumber: String
  creditCode: String
  "administrative changes: who, and what"
  actor: String
  target: String
}

type GrantVersion { id: String! version: Int! }

type AuditRecord {
  "<log>#<sequence number>: of an access log for access records, of the administrative log (admin#<n>) for administrative changes"
  id: ID!
  kind: AuditKind!
  at: String!
  log: String
  seq: Int
  requestId: String
  system: String
  department: String
  principalKind: String
  operator: String
  purpose: String
  caseId: String
  resource: String
  provider: String
  subjectType: String
  "keyed hash of the subject"
  subject: String
  itemsReturned: [String!]
  itemsMasked: [String!]
  itemsRefused: [String!]
  itemsVerified: [String!]
  grants: [GrantVersion!]
  decision: AccessDecision
  code: String
  denial: String
  reason: String
  consent: String
  attempt: Int
  "how the caller proved who it is: token, jwt, certificate or session (access records)"
  credential: String
  "another region's consumer a peer hub asked for (跨域通办): <department>/<system>"
  onBehalfOf: String
  actor: String
  role: String
  action: String
  target: String
  before: JSON
  after: JSON
}

type AuditRecordConnection { nodes: [AuditRecord!]! pageInfo: PageInfo! }

type InclusionProof {
  "the signed checkpoint (C2SP tlog-checkpoint) the proof is against"
  checkpoint: String!
  treeSize: Int!
  "leaf index = the record's sequence number"
  index: Int!
  "base64 SHA-256(0x00 ‖ RFC 8785 canonical JSON of the stored record)"
  leafHash: String!
  "the RFC 8785 canonical JSON of the stored record: the exact bytes the leaf hashes"
  canonicalRecord: String!
  "RFC 6962 audit path, base64, bottom-up"
  path: [String!]!
}

type AuditRecordWithProof {
  record: AuditRecord!
  "null until a checkpoint covers the record"
  proof: InclusionProof
}

type AuditProblem { kind: String! at: Int! detail: String! }
type AuditLogReport {
  log: String!
  "records archived under the retention policy (sequence numbers below this); 0 if none"
  archived: Int!
  "records in the trail after the archived prefix"
  records: Int!
  checkpoints: Int!
  verifiedSize: Int!
  uncheckpointed: Int!
  problems: [AuditProblem!]!
}
type AuditVerification { ok: Boolean! logs: [AuditLogReport!]! }

enum StatDimension { department resource purpose decision }

type AuditStatistic {
  "calendar day in the deployment's time zone"
  day: String!
  department: String
  resource: String
  purpose: String
  decision: AccessDecision
  count: Int!
}

"""
VOLUME: a grant's records of one day above audit.anomalies.volumeFactor × the expected daily volume of
its sharing application. OFF_HOURS: records of one system and operator outside the working hours of
a working day, or on a non-working day. REPEATED_REFUSALS: one system (operator null), or one
operator of a system, refused refusalsPerDay times or more in a day. SENSITIVE_READ: records that
served a sensitive or biometric item, or verified a biometric one, per day, system and resource.
MANY_PURPOSES: one data subject served under unrelatedPurposes or more unrelated purposes (themes)
within purposeWindowDays days.
"""
enum AnomalyKind { VOLUME OFF_HOURS REPEATED_REFUSALS SENSITIVE_READ MANY_PURPOSES }

type AuditAnomaly {
  kind: AnomalyKind!
  "the day of a daily flag (YYYY-MM-DD, deployment time zone); null for MANY_PURPOSES"
  day: String
  "the days the flag covers, both included: its day, or the window of MANY_PURPOSES' reads"
  from: String!
  to: String!
  grant: String
  system: String
  department: String
  "REPEATED_REFUSALS: null on the system's flag; OFF_HOURS: the operator recorded (null if none)"
  operator: String
  resource: String
  "keyed hash of the data subject (MANY_PURPOSES)"
  subject: String
  "MANY_PURPOSES: the purposes the subject was served under in the window"
  purposes: [String!]!
  "MANY_PURPOSES: their themes (unrelated purposes)"
  themes: [String!]!
  "SENSITIVE_READ: the resource's sensitive and biometric items"
  items: [String!]!
  "VOLUME: the grant's expected daily volume"
  expectedDailyVolume: Int
  "records (VOLUME, OFF_HOURS, SENSITIVE_READ), refusals (REPEATED_REFUSALS) or unrelated purposes (MANY_PURPOSES)"
  count: Int!
  "the smallest count that raises this flag"
  threshold: Int!
  "every record behind the flag"
  recordCount: Int!
  "ids of the first 100 records, oldest first"
  recordIds: [ID!]!
  "the first records, oldest first (at most 100)"
  records(first: Int = 100): [AuditRecord!]!
}

type SubjectAccess {
  at: String!
  "the department that used the data"
  department: String!
  departmentName: String!
  "the service item (政务服务事项) and its legal basis"
  purpose: String!
  purposeName: String!
  legalBasis: String!
  resource: String!
  resourceName: String!
  "read or verify"
  action: String!
}

type SubjectAccessConnection { nodes: [SubjectAccess!]! pageInfo: PageInfo! }

extend type Query {
  "The trail, newest first (auditor, admin). Every search is itself recorded."
  auditRecords(filter: AuditFilter, first: Int = 50, after: String): AuditRecordConnection!
  "One record with its inclusion proof in a signed checkpoint that covers it. An access record (<log>#<seq>): the latest checkpoint the stored tree reaches, else the latest; an administrative record (admin#<seq>, the ids of kind admin): the latest checkpoint of the administrative log."
  auditRecord(id: ID!): AuditRecordWithProof
  "The logs of the trail: one per hub process."
  auditLogs: [String!]!
  "Access records per day (from, to: YYYY-MM-DD, inclusive), grouped by the given dimensions, computed in the database."
  auditStatistics(from: String!, to: String!, by: [StatDimension!] = [department]): [AuditStatistic!]!
  "Anomaly flags for auditors over days from..to (YYYY-MM-DD, inclusive, at most 366 days), each with its records; thresholds in audit.anomalies. Every query is recorded."
  auditAnomalies(from: String!, to: String!, kinds: [AnomalyKind!], "records named per flag (recordIds, records), oldest first: 1-10000" recordsPerFlag: Int = 100): [AuditAnomaly!]!
  "Verifies every log (or one) against its signed checkpoints: what is wrong, and where. The access logs, then the administrative log (named admin): every administrative change, search and verification, under checkpoints of its own."
  verifyAuditTrail(log: String): AuditVerification!
  "Who used a data subject's records, when and why (portal only). Never operators, case numbers or systems."
  subjectAccessLog(idNumber: String, creditCode: String, first: Int = 50, after: String): SubjectAccessConnection!
}

extend type Mutation {
  "Discloses a record of a confidential purpose to its data subject before the period ends (auditor)."
  discloseToSubject(id: ID!, reason: String!): Boolean!
}
`;
