export { subjectHash, packRecord, unpackRecord, type AccessRecord, type Decision, type GrantVersion, type EvidenceBlock } from './record.ts';
export { AuditWriter, AuditUnavailableError, ACCESS_COLLECTION, type AuditWriterOptions } from './writer.ts';
export { ensureAuditIndexes, searchAccess, type AccessQuery } from './store.ts';
export { appendAdmin, lastAdmin, adminRecordsFor, ADMIN_COLLECTION, type AdminRecord } from './admin.ts';
