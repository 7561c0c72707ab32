/**
 * A sample department HTTP service (部门接口) speaking the hub's batch-lookup protocol
 * (see connectors/rest.ts). Used by tests, the demo and benchmarks. Dependency-free: node:http only.
 *
 *     POST …/{dataset}/batch-lookup   {"keyField": "…", "keys": ["…"], "items": ["…"]}
 *     → 200 {"records": [ … only found records, only the asked items plus keyField … ]}
 *     → 404 unknown dataset, 400 bad body, 413 body too large, 503 while setDown(true)
 *
 * Any other request (e.g. the connector's health check `GET /`) gets 404, or 503 while down.
 * Every lookup request (`POST …/{dataset}/batch-lookup`) is counted, whatever the answer.
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
