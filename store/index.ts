export { bumpRevision, currentRevision, RevisionWatcher, STATE_COLLECTION } from './revision.ts';
export { newId } from './counters.ts';
export { paginate, CursorError, type Page } from './pagination.ts';
export { changeVersioned, withoutId, DURABLE, TRANSITIONS, type HistoryInput } from './versioned.ts';
export {
  GRANTS, GrantStore, ensureGrantIndexes, insertGrant, getGrant, allGrants, changeGrantStatus, listGrants, seedGrants, type GrantFilter,
} from './grants.ts';
export {
  APPLICATIONS, ensureApplicationIndexes, insertApplication, getApplication, changeApplication, listApplications, setSubmission, type ApplicationFilter,
} from './applications.ts';
export { CONSENTS, ensureConsentIndexes, insertConsent, getConsent, withdrawConsent, consentsOfSubject } from './consents.ts';
export { DEMANDS, ensureDemandIndexes, insertDemand, getDemand, changeDemand, listDemands } from './demands.ts';
export { SlotStore, QuotaCounter, SLOT_COLLECTION, MARK_COLLECTION, LEASE_FROM, LEASE_SIZE, slotStart } from './quotas.ts';
export {
  RESOURCES, ensureResourceIndexes, syncResourcesFromFiles, loadResources, getResource, insertResource, replaceResource, definitionOf, type StoredResource,
} from './resources.ts';
export { retryOnDuplicate } from './duplicates.ts';
export { QualityCounter, QUALITY_COLLECTION, QUALITY_RETENTION_DAYS, emptyTotals, addTotals, type QualityDelta, type QualityTotals } from './quality.ts';
export {
  CORRECTIONS, OpenCorrections, ensureCorrectionIndexes, insertCorrection, getCorrection, changeCorrection, listCorrections, countOpenCorrections,
  disputedValueKey, type CorrectionFilter, type DisputedValue,
} from './corrections.ts';
