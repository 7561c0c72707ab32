/**
 * A sample department HTTP service (部门接口) speaking the hub's batch-lookup protocol
 * (see connectors/rest.ts). Used by tests, the demo and benchmarks. Dependency-free: node:http only.
 *
 *     POST …/{dataset}/batch-lookup   {"keyField": "…", "keys": ["…"], "items": ["…"]}
 *     → 200 {"records": [ … only found records, only the asked items plus keyField … ]}
 *     → 404 unknown dataset, 400 bad body, 413 body too large, 503 while setDown(true)
 *
 *     GET /openapi.json                       → 200 an OpenAPI 3.0 description of the above, one
 *                                               path per dataset, records typed from the data held
 *
 * Any other request (e.g. the connector's health check `GET /`) gets 404, or 503 while down.
 * Every lookup request (`POST …/{dataset}/batch-lookup`) is counted, whatever the answer; the
 * description is not a lookup and is not counted. (The benchmark composes a GraphQL Mesh gateway
 * from the description, bench/servers/peer-hive.ts.)
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RestDepartmentDataset {
  readonly keyField: string;
  readonly records: readonly Record<string, unknown>[];
}

export interface RestDepartmentOptions {
  readonly datasets: Readonly<Record<string, RestDepartmentDataset>>;
  /** 0 (the default) picks a free port. */
  readonly port?: number;
  readonly host?: '127.0.0.1';
}

export interface RestDepartment {
  readonly url: string;
  readonly port: number;
  /** Lookup requests received so far, all datasets together. */
  readonly calls: number;
  callsFor(dataset: string): number;
  /** While down, every request is answered 503. */
  setDown(down: boolean): void;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 10 * 1024 * 1024;

interface LookupBody {
  readonly keyField: string;
  readonly keys: readonly string[];
  readonly items: readonly string[];
}

function decodeSegment(segment: string): string | undefined {
  try {
    return segment === '' ? undefined : decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((v) => typeof v === 'string');
}

function parseLookupBody(text: string): LookupBody | undefined {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return undefined;
  const { keyField, keys, items } = body as Record<string, unknown>;
  if (typeof keyField !== 'string' || keyField === '' || !isStringArray(keys) || !isStringArray(items)) return undefined;
  return { keyField, keys, items };
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

async function readBody(req: IncomingMessage): Promise<string | undefined> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const part of req) {
    const buffer = part as Buffer;
    size += buffer.length;
    if (size > MAX_BODY_BYTES) return undefined;
    parts.push(buffer);
  }
  return Buffer.concat(parts).toString('utf8');
}

type JsonSchema = Record<string, unknown>;

/** The JSON Schema type of one value (OpenAPI 3.0: no "null" type, nullability is a flag). */
function valueType(value: unknown): string {
  if (typeof value === 'string') return 'string';
  if (typeof value === 'boolean') return 'boolean';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  if (Array.isArray(value)) return 'array';
  return 'object';
}

/** A record schema inferred from the records a dataset holds: every field seen, typed by its values. */
function recordSchema(dataset: RestDepartmentDataset): JsonSchema {
  const seen = new Map<string, { types: Set<string>; nullable: boolean }>([[dataset.keyField, { types: new Set(), nullable: false }]]);
  for (const record of dataset.records) {
    for (const [field, value] of Object.entries(record)) {
      let entry = seen.get(field);
      if (!entry) seen.set(field, (entry = { types: new Set(), nullable: false }));
      if (value === null || value === undefined) entry.nullable = true;
      else entry.types.add(valueType(value));
    }
  }
  const properties: Record<string, JsonSchema> = {};
  for (const [field, { types, nullable }] of seen) {
    if (types.size === 2 && types.has('integer') && types.has('number')) types.delete('integer');
    // Only nulls seen: a nullable string. Mixed types: any value (an empty schema).
    const type = types.size === 0 ? 'string' : types.size === 1 ? [...types][0]! : undefined;
    if (type === undefined) {
      properties[field] = {};
      continue;
    }
    properties[field] = { type, ...(type === 'array' ? { items: {} } : {}), ...(nullable ? { nullable: true } : {}) };
  }
  return { type: 'object', required: [dataset.keyField], properties };
}

const pascal = (name: string) => name.replace(/(^|[^A-Za-z0-9]+)([A-Za-z0-9])/g, (_m, _s: string, c: string) => c.toUpperCase());

/**
 * An OpenAPI 3.0 description of the batch-lookup protocol of this service: one POST path per
 * dataset (operationId `{dataset}BatchLookup`), with the record type inferred from the data held.
 */
export function openApiDescription(datasets: ReadonlyMap<string, RestDepartmentDataset>, serverUrl: string): JsonSchema {
  const paths: Record<string, unknown> = {};
  const schemas: Record<string, JsonSchema> = {
    BatchLookupRequest: {
      type: 'object',
      required: ['keyField', 'keys', 'items'],
      properties: {
        keyField: { type: 'string', description: "the dataset's key field" },
        keys: { type: 'array', items: { type: 'string' }, description: 'distinct keys' },
        items: { type: 'array', items: { type: 'string' }, description: 'the fields wanted; only these and keyField are returned' },
      },
    },
  };
  for (const [index, [name, dataset]] of [...datasets].entries()) {
    const type = pascal(name) || `Dataset${index + 1}`;
    schemas[`${type}Record`] = recordSchema(dataset);
    schemas[`${type}LookupResult`] = {
      type: 'object',
      required: ['records'],
      properties: { records: { type: 'array', items: { $ref: `#/components/schemas/${type}Record` } } },
    };
    paths[`/${encodeURIComponent(name)}/batch-lookup`] = {
      post: {
        operationId: `${name}BatchLookup`,
        summary: `Batch lookup in ${name} (key field ${dataset.keyField}): only the records found, only the asked items plus the key field`,
        requestBody: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/BatchLookupRequest' } } } },
        responses: {
          200: { description: 'the records found', content: { 'application/json': { schema: { $ref: `#/components/schemas/${type}LookupResult` } } } },
          // Failures carry {"error": "…"}; described without a schema, so that a generated client's
          // result type is the records, not a union with the error body.
          400: { description: 'bad body' },
          404: { description: 'unknown dataset' },
          413: { description: 'body too large' },
          503: { description: 'service unavailable' },
        },
      },
    };
  }
  return {
    openapi: '3.0.3',
    info: { title: 'Department batch lookup (批量查询协议)', version: '1.0.0' },
    servers: [{ url: serverUrl }],
    paths,
    components: { schemas },
  };
}

/** The found records, only the asked items plus the key field, in the dataset's order. */
function lookup(dataset: RestDepartmentDataset, body: LookupBody): Record<string, unknown>[] {
  const wanted = new Set(body.keys);
  const fields = [...new Set([body.keyField, ...body.items])];
  return dataset.records
    .filter((r) => wanted.has(String(r[body.keyField])))
    .map((r) => Object.fromEntries(fields.filter((f) => Object.hasOwn(r, f)).map((f) => [f, r[f]])));
}

export async function startRestDepartment(options: RestDepartmentOptions): Promise<RestDepartment> {
  const datasets = new Map(Object.entries(options.datasets));
  const callCounts = new Map<string, number>();
  let calls = 0;
  let down = false;
  let description: string | undefined;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const segments = new URL(req.url ?? '/', 'http://localhost').pathname.split('/');
    const isLookup = req.method === 'POST' && segments.length >= 3 && segments.at(-1) === 'batch-lookup';
    let name: string | undefined;
    if (isLookup) {
      calls += 1;
      name = decodeSegment(segments.at(-2) ?? '');
      if (name !== undefined) callCounts.set(name, (callCounts.get(name) ?? 0) + 1);
    }
    if (down) {
      req.resume();
      return send(res, 503, { error: 'service unavailable' });
    }
    if (!isLookup && req.method === 'GET' && segments.length === 2 && segments[1] === 'openapi.json') {
      req.resume();
      description ??= JSON.stringify(openApiDescription(datasets, `http://${host}:${(server.address() as AddressInfo).port}`));
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(description) });
      return void res.end(description);
    }
    const dataset = name === undefined ? undefined : datasets.get(name);
    if (dataset === undefined) {
      req.resume();
      return send(res, 404, { error: 'not found' });
    }
    const text = await readBody(req);
    if (text === undefined) return send(res, 413, { error: 'body too large' });
    const body = parseLookupBody(text);
    if (body === undefined) {
      return send(res, 400, { error: 'expected {"keyField": string, "keys": string[], "items": string[]}' });
    }
    send(res, 200, { records: lookup(dataset, body) });
  }

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) send(res, 500, { error: 'internal error' });
      else res.destroy();
    });
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://${host}:${port}`,
    port,
    get calls() {
      return calls;
    },
    callsFor: (dataset) => callCounts.get(dataset) ?? 0,
    setDown: (value) => {
      down = value;
    },
    close: () => new Promise<void>((resolve, reject) => {
      server.close((error) => (error ? reject(error) : resolve()));
      server.closeAllConnections();
    }),
  };
}
