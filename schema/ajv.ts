/**
 * One way to build ajv validators and one way to report their errors, for every boundary:
 * catalogue files, connector configs, hub config and upstream records.
 */
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';

// ajv-formats is CommonJS; under NodeNext its default export is the module object.
const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;

export type JsonSchema = Record<string, unknown>;

export function createAjv(options: { coerceTypes?: boolean; useDefaults?: boolean } = {}): Ajv2020 {
  const ajv = new Ajv2020({
    allErrors: true,
    strict: true,
    strictRequired: false,
    coerceTypes: options.coerceTypes ?? false,
    useDefaults: options.useDefaults ?? true,
    allowUnionTypes: true,
  });
  addFormats(ajv);
  return ajv;
}

/** A boundary input that broke a rule. `where` names the file (or other source), `path` the JSON pointer. */
export interface Violation {
  readonly where: string;
  readonly path: string;
  readonly rule: string;
  readonly message: string;
}

export class ValidationError extends Error {
  readonly violations: readonly Violation[];
  constructor(violations: readonly Violation[]) {
    super(violations.map(formatViolation).join('\n'));
    this.name = 'ValidationError';
    this.violations = violations;
  }
}

export function formatViolation(v: Violation): string {
  return `${v.where}: ${v.path || '/'} ${v.message} (rule: ${v.rule})`;
}

/** Turns ajv errors into violations a person can act on: file, JSON path, rule, message. */
export function toViolations(where: string, errors: readonly ErrorObject[] | null | undefined, pathPrefix = ''): Violation[] {
  if (!errors) return [];
  // An `if`/`then` failure is reported twice by ajv: the broken rule inside `then`, and "must match
  // "then" schema" at the parent. Keep the one that names the field.
  return errors.filter((e) => e.keyword !== 'if').map((e) => {
    let path = pathPrefix + e.instancePath;
    let message = e.message ?? 'is invalid';
    if (e.keyword === 'additionalProperties' && typeof e.params['additionalProperty'] === 'string') {
      path = `${path}/${e.params['additionalProperty']}`;
      message = 'is not an allowed property';
    } else if (e.keyword === 'required' && typeof e.params['missingProperty'] === 'string') {
      path = `${path}/${e.params['missingProperty']}`;
      message = 'is required';
    } else if (e.keyword === 'enum' && Array.isArray(e.params['allowedValues'])) {
      message = `must be one of ${(e.params['allowedValues'] as unknown[]).map((x) => JSON.stringify(x)).join(', ')}`;
    }
    return { where, path, rule: e.keyword, message };
  });
}

/** Validates `data` and throws a ValidationError naming `where` and the path when it fails. */
export function assertValid<T>(validate: ValidateFunction<T>, data: unknown, where: string): asserts data is T {
  if (!validate(data)) throw new ValidationError(toViolations(where, validate.errors));
}
