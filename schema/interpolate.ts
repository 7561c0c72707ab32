/**
 * `${NAME}` and `${NAME:-default}` in connector configs take values from the environment, so one
 * catalogue serves every environment. An unset variable without a default is a violation.
 */
import type { Violation } from './ajv.ts';

const PATTERN = /\$\{([A-Z_][A-Z0-9_]*)(?::-([^}]*))?\}/g;

export function interpolate(value: unknown, env: NodeJS.ProcessEnv, where: string, path: string, violations: Violation[]): unknown {
  if (typeof value === 'string') {
    return value.replace(PATTERN, (_m, name: string, fallback: string | undefined) => {
      const found = env[name];
      if (found !== undefined && found !== '') return found;
      if (fallback !== undefined) return fallback;
      violations.push({ where, path, rule: 'env', message: `names environment variable ${name}, which is not set` });
      return '';
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => interpolate(v, env, where, `${path}/${i}`, violations));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolate(v, env, where, `${path}/${k}`, violations)]));
  }
  return value;
}
