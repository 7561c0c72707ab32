export { subjectHash, packRecord, unpackRecord, type AccessRecord, type Decision, type GrantVersion, type EvidenceBlock } from './record.ts';
export { AuditWriter, AuditUnavailableError, ACCESS_COLLECTION, type AuditWriterOptions } from './writer.ts';
export { ensureAuditIndexes, searchAccess, type AccessQuery } from './store.ts';
export { appendAdmin, lastAdmin, adminRecordsFor, ADMIN_COLLECTION, type AdminRecord } from './admin.ts';
export { EvidenceLog, newOrigin, recordLeaf, canonicalBytes, LOGS_COLLECTION, CHECKPOINTS_COLLECTION, type CheckpointDoc } from './log.ts';
export { noteSigner, parseVerifierKey, signNote, openNote, checkpointText, parseCheckpointText, type NoteSigner, type NoteVerifier, type Checkpoint } from './note.ts';
export { leafHash, nodeHash, rootOf, inclusionProof, consistencyProof, verifyInclusion, verifyConsistency, Frontier, type Hash } from './merkle.ts';
export { verifyTrail, verifyLog, readLog, listLogs, proveRecord, proveConsistency, type TrailReport, type LogReport, type Problem, type ProblemKind } from './verify.ts';
export { searchTrail, getTrailRecord, searchAdmin, recordId, parseRecordId, disclose, disclosed, TrailCursorError, DISCLOSURES_COLLECTION, type TrailFilter, type StoredAccess } from './search.ts';
