/**
 * Reads a catalogue directory, validates every file against its JSON Schema, then checks the
 * cross-references between files. A bad catalogue is refused whole, with every violation named
 * by file, JSON path and rule, so a data officer can fix them in one pass.
 *
 * Layout (YAML or JSON):
 *   departments.yaml   list of departments
 *   systems.yaml       list of consumer systems
 *   purposes.yaml      list of purposes (政务服务事项)
 *   connectors.yaml    map: connector name → { kind, …kind's config }
 *   grants.yaml        list of grants seeded from config (optional)
 *   resources/*.yaml   one catalogued resource per file
 */
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { parseDocument } from 'yaml';
import { createAjv, toViolations, ValidationError, type Violation } from './ajv.ts';
import {
  connectorsFileSchema, departmentSchema, grantSchema, listOf, purposeSchema, resourceSchema, systemSchema,
} from './catalogue-schemas.ts';
import { checkReferences } from './catalogue-references.ts';
import { interpolate } from './interpolate.ts';
import type { Catalogue, ConnectorEntry, Department, Grant, Purpose, Resource, SystemEntry } from './types.ts';

export interface LoadCatalogueOptions {
  /** Validates one connector's config (kind-specific schema); returns violations. */
  readonly validateConnector?: (where: string, config: unknown) => Violation[];
  /** Environment for `${NAME}` in connector configs (default process.env). */
  readonly env?: NodeJS.ProcessEnv;
}

const ajv = createAjv();
for (const s of [departmentSchema, systemSchema, purposeSchema, resourceSchema, grantSchema]) ajv.addSchema(s);
const validators = {
  departments: ajv.compile(listOf('hub:department', departmentSchema)),
  systems: ajv.compile(listOf('hub:system', systemSchema)),
  purposes: ajv.compile(listOf('hub:purpose', purposeSchema)),
  grants: ajv.compile(listOf('hub:grant', grantSchema)),
  resource: ajv.getSchema('hub:resource')!,
  connectors: ajv.compile(connectorsFileSchema),
};

const EXTENSIONS = ['.yaml', '.yml', '.json'];

async function findFile(dir: string, base: string): Promise<string | undefined> {
  const names = await readdir(dir).catch(() => [] as string[]);
  return EXTENSIONS.map((ext) => base + ext).find((n) => names.includes(n));
}

/** Parses YAML/JSON; a syntax error becomes a violation naming the file and line. */
async function parseFile(path: string, where: string, violations: Violation[]): Promise<unknown> {
  let source: string;
  try {
    source = await readFile(path, 'utf8');
  } catch (error) {
    violations.push({ where, path: '', rule: 'readable', message: `cannot be read: ${(error as NodeJS.ErrnoException).code ?? 'error'}` });
    return undefined;
  }
  const doc = parseDocument(source, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    for (const e of doc.errors) {
      const line = e.linePos?.[0];
      violations.push({ where: line ? `${where}:${line.line}:${line.col}` : where, path: '', rule: 'syntax', message: e.message.split('\n')[0] ?? 'syntax error' });
    }
    return undefined;
  }
  return doc.toJS();
}

export async function loadCatalogue(dir: string, options: LoadCatalogueOptions = {}): Promise<Catalogue> {
  const violations: Violation[] = [];
  const label = (p: string) => relative(process.cwd(), p) || p;

  async function list<T>(base: string, validate: (typeof validators)['departments'], required: boolean): Promise<T[]> {
    const name = await findFile(dir, base);
    if (!name) {
      if (required) violations.push({ where: label(join(dir, `${base}.yaml`)), path: '', rule: 'required', message: 'file is missing' });
      return [];
    }
    const where = label(join(dir, name));
    const data = (await parseFile(join(dir, name), where, violations)) ?? [];
    if (!validate(data)) {
      violations.push(...toViolations(where, validate.errors));
      return [];
    }
    return data as T[];
  }

  const departments = await list<Department>('departments', validators.departments, true);
  const systems = await list<SystemEntry>('systems', validators.systems, true);
  const purposes = await list<Purpose>('purposes', validators.purposes, true);
  const grants = await list<Grant>('grants', validators.grants, false);

  const connectors: ConnectorEntry[] = [];
  const connectorsName = await findFile(dir, 'connectors');
  if (!connectorsName) {
    violations.push({ where: label(join(dir, 'connectors.yaml')), path: '', rule: 'required', message: 'file is missing' });
  } else {
    const where = label(join(dir, connectorsName));
    const data = await parseFile(join(dir, connectorsName), where, violations);
    if (!validators.connectors(data)) {
      violations.push(...toViolations(where, validators.connectors.errors));
    } else {
      for (const [name, rawConfig] of Object.entries(data as Record<string, ConnectorEntry['config']>)) {
        const config = interpolate(rawConfig, options.env ?? process.env, where, `/${name}`, violations) as ConnectorEntry['config'];
        const found = options.validateConnector?.(where, config) ?? [];
        violations.push(...found.map((v) => ({ ...v, path: `/${name}${v.path}` })));
        connectors.push({ name, config });
      }
    }
  }

  const resources: Resource[] = [];
  const resourceFiles: Array<{ where: string; resource: Resource }> = [];
  const resourceDir = join(dir, 'resources');
  const names = (await readdir(resourceDir).catch(() => [] as string[]))
    .filter((n) => EXTENSIONS.some((ext) => n.endsWith(ext)))
    .sort();
  if (names.length === 0) {
    violations.push({ where: label(resourceDir), path: '', rule: 'required', message: 'holds no resource files (*.yaml)' });
  }
  for (const name of names) {
    const where = label(join(resourceDir, name));
    const data = await parseFile(join(resourceDir, name), where, violations);
    if (data === undefined) continue;
    if (!validators.resource(data)) {
      violations.push(...toViolations(where, validators.resource.errors));
      continue;
    }
    resources.push(data as Resource);
    resourceFiles.push({ where, resource: data as Resource });
  }

  const catalogue: Catalogue = { departments, systems, purposes, resources, grants, connectors };
  if (violations.length === 0) {
    violations.push(...checkReferences(catalogue, {
      departments: label(join(dir, 'departments.yaml')),
      systems: label(join(dir, 'systems.yaml')),
      purposes: label(join(dir, 'purposes.yaml')),
      grants: label(join(dir, 'grants.yaml')),
      resource: (code) => resourceFiles.find((f) => f.resource.code === code)?.where ?? label(resourceDir),
    }));
  }
  if (violations.length > 0) throw new ValidationError(violations);
  return catalogue;
}

/**
 * Validates one resource definition (from the API or from MongoDB) with the same JSON Schema and
 * the same cross-reference rules as the catalogue files, and the same messages. `others` are the
 * rest of the catalogue it must fit into.
 */
export function resourceViolations(data: unknown, where: string, others: Omit<Catalogue, 'grants'>): Violation[] {
  // ajv's useDefaults fills in defaults (mask: none, level: general): validate a copy.
  const copy: unknown = structuredClone(data);
  if (!validators.resource(copy)) return toViolations(where, validators.resource.errors);
  const resource = copy as Resource;
  const catalogue: Catalogue = { ...others, resources: [...others.resources.filter((r) => r.code !== resource.code), resource], grants: [] };
  return checkReferences(catalogue, {
    departments: 'departments',
    systems: 'systems',
    purposes: 'purposes',
    grants: 'grants',
    resource: (code) => (code === resource.code ? where : `resource ${code}`),
  }).filter((v) => v.where === where);
}

/** The resource with its schema defaults applied (call after `resourceViolations` found none). */
export function withResourceDefaults(data: unknown): Resource {
  const copy: unknown = structuredClone(data);
  validators.resource(copy);
  return copy as Resource;
}
