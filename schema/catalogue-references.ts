/**
 * Cross-file rules of the catalogue that JSON Schema cannot express: unique codes, references
 * that must resolve, items a grant names must exist, GraphQL field names must not collide.
 */
import type { Violation } from './ajv.ts';
import type { Catalogue } from './types.ts';

/** A SHA-256 certificate fingerprint as Node prints it (`AB:CD:…`, upper case), from any case, with or without colons. */
export function normaliseFingerprint(fingerprint: string): string {
  return fingerprint.replace(/:/g, '').toUpperCase().replace(/(..)(?!$)/g, '$1:');
}

export interface CatalogueFiles {
  readonly departments: string;
  readonly systems: string;
  readonly purposes: string;
  readonly grants: string;
  readonly resource: (code: string) => string;
}

/** Field names every subject type already has; a resource may not take them. */
const RESERVED_FIELDS = new Set(['idNumber', 'creditCode', 'key', '__typename']);

export function checkReferences(c: Catalogue, files: CatalogueFiles): Violation[] {
  const out: Violation[] = [];
  const v = (where: string, path: string, rule: string, message: string) => out.push({ where, path, rule, message });

  function unique<T extends { code?: string; id?: string }>(list: readonly T[], where: (x: T) => string, key: 'code' | 'id') {
    const seen = new Set<string>();
    list.forEach((x, i) => {
      const k = x[key] as string;
      if (seen.has(k)) v(where(x), `/${i}/${key}`, 'unique', `duplicates ${key} "${k}"`);
      seen.add(k);
    });
  }
  unique(c.departments, () => files.departments, 'code');
  unique(c.systems, () => files.systems, 'code');
  unique(c.purposes, () => files.purposes, 'code');
  unique(c.grants, () => files.grants, 'id');
  const seenResources = new Set<string>();
  for (const r of c.resources) {
    if (seenResources.has(r.code)) v(files.resource(r.code), '/code', 'unique', `duplicates resource code "${r.code}"`);
    seenResources.add(r.code);
  }

  const departments = new Set(c.departments.map((d) => d.code));
  const resources = new Map(c.resources.map((r) => [r.code, r]));
  const purposes = new Set(c.purposes.map((p) => p.code));
  const connectors = new Set(c.connectors.map((x) => x.name));

  const boundTo = new Map<string, string>();
  c.systems.forEach((s, i) => {
    if (!departments.has(s.department)) v(files.systems, `/${i}/department`, 'reference', `names unknown department "${s.department}"`);
    s.certificates?.forEach((fingerprint, j) => {
      const key = normaliseFingerprint(fingerprint);
      const other = boundTo.get(key);
      if (other !== undefined && other !== s.code) v(files.systems, `/${i}/certificates/${j}`, 'unique', `certificate ${key} is already bound to system "${other}"`);
      boundTo.set(key, s.code);
    });
  });
  c.purposes.forEach((p, i) => {
    p.departments.forEach((d, j) => {
      if (!departments.has(d)) v(files.purposes, `/${i}/departments/${j}`, 'reference', `names unknown department "${d}"`);
    });
    p.resources?.forEach((r, j) => {
      if (!resources.has(r)) v(files.purposes, `/${i}/resources/${j}`, 'reference', `names unknown resource "${r}"`);
    });
  });

  const fields = new Map<string, string>();
  for (const r of c.resources) {
    const where = files.resource(r.code);
    if (!departments.has(r.provider)) v(where, '/provider', 'reference', `names unknown department "${r.provider}"`);
    if (!connectors.has(r.binding.connector)) v(where, '/binding/connector', 'reference', `names unknown connector "${r.binding.connector}"`);
    if (RESERVED_FIELDS.has(r.field)) v(where, '/field', 'reserved', `"${r.field}" is reserved`);
    const fieldKey = `${r.subject}.${r.field}`;
    const other = fields.get(fieldKey);
    if (other) v(where, '/field', 'unique', `"${r.field}" is already used by resource "${other}" for ${r.subject}`);
    fields.set(fieldKey, r.code);
    const items = new Set<string>();
    r.items.forEach((item, i) => {
      if (items.has(item.name)) v(where, `/items/${i}/name`, 'unique', `duplicates item "${item.name}"`);
      items.add(item.name);
    });
    r.related?.forEach((code, i) => {
      if (!resources.has(code)) v(where, `/related/${i}`, 'reference', `names unknown resource "${code}"`);
    });
  }

  c.grants.forEach((g, i) => {
    const r = resources.get(g.resource);
    if (!r) v(files.grants, `/${i}/resource`, 'reference', `names unknown resource "${g.resource}"`);
    else if (r.sharing === 'none') v(files.grants, `/${i}/resource`, 'not-shared', `resource "${g.resource}" is 不予共享 and cannot be granted`);
    if (!departments.has(g.consumer)) v(files.grants, `/${i}/consumer`, 'reference', `names unknown department "${g.consumer}"`);
    g.systems?.forEach((s, j) => {
      const sys = c.systems.find((x) => x.code === s);
      if (!sys) v(files.grants, `/${i}/systems/${j}`, 'reference', `names unknown system "${s}"`);
      else if (sys.department !== g.consumer) v(files.grants, `/${i}/systems/${j}`, 'reference', `system "${s}" does not belong to consumer "${g.consumer}"`);
    });
    g.purposes.forEach((p, j) => {
      if (!purposes.has(p)) v(files.grants, `/${i}/purposes/${j}`, 'reference', `names unknown purpose "${p}"`);
    });
    g.items.forEach((item, j) => {
      if (r && !r.items.some((x) => x.name === item.name)) v(files.grants, `/${i}/items/${j}/name`, 'reference', `resource "${r.code}" has no item "${item.name}"`);
    });
    if (g.validUntil < g.validFrom) v(files.grants, `/${i}/validUntil`, 'order', 'is before validFrom');
  });
  return out;
}
