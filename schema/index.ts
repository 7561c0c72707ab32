export * from './types.ts';
export { createAjv, assertValid, toViolations, formatViolation, ValidationError, type Violation, type JsonSchema } from './ajv.ts';
export { loadCatalogue, resourceViolations, withResourceDefaults, type LoadCatalogueOptions } from './catalogue.ts';
export {
  idNumberProblem, creditCodeProblem, idNumberCheck, creditCodeCheck, syntheticIdNumber, syntheticCreditCode, seededRandom,
} from './identifiers.ts';
export { buildTypeDefs, typeNameOf } from './graphql.ts';
export { createRecordValidator, type RecordValidator, type RecordProblem } from './records.ts';
export { loadWorkCalendar, parseWorkCalendar, type LoadedCalendar } from './calendar.ts';
export { readYamlFile } from './yaml.ts';
export { normaliseFingerprint } from './catalogue-references.ts';
