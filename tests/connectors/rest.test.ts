import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { Connector } from '../../connectors/index.ts';
import { startRestDepartment, type RestDepartment } from '../../demo/systems/rest-department.ts';
import { seededRandom, syntheticIdNumber } from '../../schema/index.ts';
import { connectorsOfKind, upstreamError } from '../support/connectors.ts';

const random = seededRandom(20240101);
const people = Array.from({ length: 60 }, (_, i) => ({
  idNumber: syntheticIdNumber(random),
  name: `测试${i}`,
  address: `广州市天河区测试路${i}号`,
  phone: `1380000${String(i).padStart(4, '0')}`,
}));
const idOf = (i: number): string => people[i]?.idNumber ?? '';
const missingId = syntheticIdNumber(random, { region: '440300' });

const newConnector = connectorsOfKind('rest', () => ({}), () => process.cwd());
const restConnector = (config: Record<string, unknown>, name = 'hukou-api'): Connector => newConnector(config, name);

interface Captured {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** A misbehaving (or inspecting) department service: answers whatever the test scripts. */
async function startScripted(
  answer: (request: Captured, res: ServerResponse) => void,
): Promise<{ url: string; requests: Captured[]; close(): Promise<void> }> {
  const requests: Captured[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    const parts: Buffer[] = [];
    req.on('data', (part: Buffer) => parts.push(part));
    req.on('end', () => {
      const captured = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(parts).toString('utf8') };
      requests.push(captured);
      answer(captured, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}

function json(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(body);
}


describe('rest connector against the sample department service', () => {
  let department: RestDepartment;
  beforeAll(async () => {
    department = await startRestDepartment({ datasets: { hukou: { keyField: 'idNumber', records: people } } });
  });
  afterAll(() => department.close());

  it('answers many keys with one call, in order, only the asked items', async () => {
    const connector = restConnector({ baseUrl: department.url });
    const before = department.callsFor('hukou');
    const keys = people.slice(0, 50).map((p) => p.idNumber).reverse();
    const records = await connector.fetchMany({ dataset: 'hukou', keyField: 'idNumber', keys, items: ['name'] });
    expect(department.callsFor('hukou') - before).toBe(1);
    expect(records).toHaveLength(50);
    expect(records.map((r) => r?.['idNumber'])).toEqual(keys);
    expect(records[0]).toEqual({ idNumber: keys[0], name: people[49]?.name });
  });

  it('answers null for a missing key and repeats duplicate keys in place', async () => {
    const connector = restConnector({ baseUrl: department.url });
    const keys = [idOf(3), missingId, idOf(1), idOf(3)];
    const records = await connector.fetchMany({ dataset: 'hukou', keyField: 'idNumber', keys, items: ['name', 'address'] });
    expect(records).toEqual([
      { idNumber: idOf(3), name: people[3]?.name, address: people[3]?.address },
      null,
      { idNumber: idOf(1), name: people[1]?.name, address: people[1]?.address },
      { idNumber: idOf(3), name: people[3]?.name, address: people[3]?.address },
    ]);
    expect(records[0]).not.toBe(records[3]);
  });

  it('splits more than maxKeysPerCall keys into chunks', async () => {
    const connector = restConnector({ baseUrl: department.url, maxKeysPerCall: 10 });
    const before = department.callsFor('hukou');
    const keys = [...people.slice(0, 35).map((p) => p.idNumber), missingId];
    const records = await connector.fetchMany({ dataset: 'hukou', keyField: 'idNumber', keys, items: ['name'] });
    expect(department.callsFor('hukou') - before).toBe(4);
    expect(records.slice(0, 35).map((r) => r?.['name'])).toEqual(people.slice(0, 35).map((p) => p.name));
    expect(records[35]).toBeNull();
  });

  it('makes no call for no keys', async () => {
    const connector = restConnector({ baseUrl: department.url });
    const before = department.calls;
    expect(await connector.fetchMany({ dataset: 'hukou', keyField: 'idNumber', keys: [], items: ['name'] })).toEqual([]);
    expect(department.calls).toBe(before);
  });

  it('fails with UpstreamError when the department is down, and reports health', async () => {
    const connector = restConnector({ baseUrl: department.url });
    expect((await connector.health()).ok).toBe(true);
    department.setDown(true);
    try {
      const error = await upstreamError(connector.fetchMany({ dataset: 'hukou', keyField: 'idNumber', keys: [idOf(0)], items: ['name'] }));
      expect(error.connector).toBe('hukou-api');
      expect(error.message).toContain('"hukou-api"');
      expect(error.message).toContain('HTTP 503');
      expect(await connector.health()).toMatchObject({ ok: false, detail: 'answered HTTP 503' });
    } finally {
      department.setDown(false);
    }
  });

  it('treats an unknown dataset (404) as an upstream failure', async () => {
    const connector = restConnector({ baseUrl: department.url });
    const error = await upstreamError(connector.fetchMany({ dataset: 'nope', keyField: 'idNumber', keys: [idOf(0)], items: ['name'] }));
    expect(error.message).toContain('HTTP 404');
  });

  it('rejects with the caller’s reason when the caller aborts', async () => {
    const connector = restConnector({ baseUrl: department.url });
    const controller = new AbortController();
    const reason = new Error('client went away');
    controller.abort(reason);
    await expect(connector.fetchMany({
      dataset: 'hukou', keyField: 'idNumber', keys: [idOf(0)], items: ['name'], signal: controller.signal,
    })).rejects.toBe(reason);
  });

  it('refuses calls after close', async () => {
    const connector = restConnector({ baseUrl: department.url });
    await connector.close();
    await upstreamError(connector.fetchMany({ dataset: 'hukou', keyField: 'idNumber', keys: [idOf(0)], items: ['name'] }));
  });
});

describe('rest connector against misbehaving services', () => {
  const request = { dataset: 'hukou', keyField: 'idNumber', keys: [idOf(0), idOf(1)], items: ['name'] };

  it('sends the protocol body with distinct keys, the configured path, headers and bearer token', async () => {
    const server = await startScripted((_req, res) => json(res, 200, '{"records": []}'));
    process.env['HUB_TEST_REST_TOKEN'] = 'tok-123';
    try {
      const connector = restConnector({
        baseUrl: `${server.url}/api/`,
        path: '/v2/{dataset}/lookup',
        headers: { 'X-Department': '440100-gongan' },
        bearerTokenEnv: 'HUB_TEST_REST_TOKEN',
      });
      await connector.fetchMany({ dataset: 'hu kou/1', keyField: 'idNumber', keys: [idOf(0), idOf(1), idOf(0)], items: ['name', 'name', 'idNumber'] });
      expect(server.requests).toHaveLength(1);
      const [sent] = server.requests;
      expect(sent?.method).toBe('POST');
      expect(sent?.url).toBe('/api/v2/hu%20kou%2F1/lookup');
      expect(sent?.headers['content-type']).toBe('application/json');
      expect(sent?.headers['x-department']).toBe('440100-gongan');
      expect(sent?.headers['authorization']).toBe('Bearer tok-123');
      expect(JSON.parse(sent?.body ?? '')).toEqual({ keyField: 'idNumber', keys: [idOf(0), idOf(1)], items: ['name'] });
    } finally {
      delete process.env['HUB_TEST_REST_TOKEN'];
      await server.close();
    }
  });

  it('fails without calling when the bearer token variable is not set', async () => {
    const server = await startScripted((_req, res) => json(res, 200, '{"records": []}'));
    try {
      const connector = restConnector({ baseUrl: server.url, bearerTokenEnv: 'HUB_TEST_REST_TOKEN_UNSET' });
      const error = await upstreamError(connector.fetchMany(request));
      expect(error.message).toContain('HUB_TEST_REST_TOKEN_UNSET');
      expect(server.requests).toHaveLength(0);
    } finally {
      await server.close();
    }
  });

  it('drops fields that were not asked for and records for keys it did not ask', async () => {
    const server = await startScripted((_req, res) => json(res, 200, JSON.stringify({
      records: [
        { idNumber: idOf(1), name: '乙', phone: '13800001111', address: '广州' },
        { idNumber: idOf(5), name: '戊' },
        { name: 'no key' },
      ],
    })));
    try {
      const records = await restConnector({ baseUrl: server.url }).fetchMany(request);
      expect(records).toEqual([null, { idNumber: idOf(1), name: '乙' }]);
    } finally {
      await server.close();
    }
  });

  it('fails on HTTP 500 without quoting the body', async () => {
    const server = await startScripted((_req, res) => json(res, 500, '{"error": "张三 440106 not found"}'));
    try {
      const error = await upstreamError(restConnector({ baseUrl: server.url }).fetchMany(request));
      expect(error.message).toContain('HTTP 500');
      expect(error.message).not.toContain('张三');
    } finally {
      await server.close();
    }
  });

  it('fails on malformed JSON without quoting the body', async () => {
    const server = await startScripted((_req, res) => json(res, 200, '{"records": [{"name": "张三"'));
    try {
      const error = await upstreamError(restConnector({ baseUrl: server.url }).fetchMany(request));
      expect(error.message).toContain('answered malformed JSON');
      expect(error.message).not.toContain('张三');
      expect(error.cause).toBeUndefined();
    } finally {
      await server.close();
    }
  });

  it.each([
    ['an array', '[]'],
    ['records not an array', '{"records": {"a": 1}}'],
    ['a record not an object', '{"records": [null]}'],
    ['no records', '{"data": []}'],
  ])('fails on a body that is %s', async (_what, body) => {
    const server = await startScripted((_req, res) => json(res, 200, body));
    try {
      const error = await upstreamError(restConnector({ baseUrl: server.url }).fetchMany(request));
      expect(error.message).toContain('not shaped {"records": [object, …]}');
    } finally {
      await server.close();
    }
  });

  it('times out a slow service', async () => {
    const server = await startScripted((_req, res) => {
      const timer = setTimeout(() => json(res, 200, '{"records": []}'), 3000);
      res.on('close', () => clearTimeout(timer));
    });
    try {
      const started = Date.now();
      const error = await upstreamError(restConnector({ baseUrl: server.url, timeoutMs: 200 }).fetchMany(request));
      expect(error.message).toContain('timed out after 200 ms');
      expect(Date.now() - started).toBeLessThan(2000);
    } finally {
      await server.close();
    }
  });

  it('fails when nothing listens, and health says so', async () => {
    const server = await startScripted((_req, res) => json(res, 200, '{}'));
    const { url } = server;
    await server.close();
    const connector = restConnector({ baseUrl: url, timeoutMs: 1000 });
    const error = await upstreamError(connector.fetchMany(request));
    expect(error.message).toMatch(/failed: ECONNREFUSED|timed out/);
    expect((await connector.health()).ok).toBe(false);
  });
});

describe('the sample department describes its protocol: GET /openapi.json', () => {
  const vehicles = [
    { ownerIdNumber: idOf(0), vehicleCount: 2, plates: ['粤A12345', '粤B54321'], weightTons: 1.5, note: null },
    { ownerIdNumber: idOf(1), vehicleCount: 0, plates: [], weightTons: 2, note: '无' },
  ];
  let department: RestDepartment;
  beforeAll(async () => {
    department = await startRestDepartment({ datasets: { hukou: { keyField: 'idNumber', records: people }, vehicle: { keyField: 'ownerIdNumber', records: vehicles } } });
  });
  afterAll(() => department.close());

  it('one POST path per dataset, operationId {dataset}BatchLookup, the request and the record types it holds', async () => {
    const response = await fetch(`${department.url}/openapi.json`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json; charset=utf-8');
    const doc = await response.json() as { openapi: string; servers: Array<{ url: string }>; paths: Record<string, { post: { operationId: string; requestBody: unknown } }>; components: { schemas: Record<string, { properties?: Record<string, unknown>; required?: string[] }> } };
    expect(doc.openapi).toBe('3.0.3');
    expect(doc.servers).toEqual([{ url: department.url }]);
    expect(Object.keys(doc.paths).sort()).toEqual(['/hukou/batch-lookup', '/vehicle/batch-lookup']);
    expect(doc.paths['/vehicle/batch-lookup']!.post.operationId).toBe('vehicleBatchLookup');
    expect(doc.components.schemas['BatchLookupRequest']!.required).toEqual(['keyField', 'keys', 'items']);
    expect(doc.components.schemas['VehicleRecord']).toEqual({
      type: 'object',
      required: ['ownerIdNumber'],
      properties: {
        ownerIdNumber: { type: 'string' },
        vehicleCount: { type: 'integer' },
        plates: { type: 'array', items: {} },
        weightTons: { type: 'number' },
        note: { type: 'string', nullable: true },
      },
    });
    // A lookup made as the description says answers in the described shape; the description is not a lookup call.
    const lookup = await fetch(`${department.url}/vehicle/batch-lookup`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ keyField: 'ownerIdNumber', keys: [idOf(0)], items: ['vehicleCount', 'note'] }) });
    expect(await lookup.json()).toEqual({ records: [{ ownerIdNumber: idOf(0), vehicleCount: 2, note: null }] });
    expect(department.calls).toBe(1);
  });
});
