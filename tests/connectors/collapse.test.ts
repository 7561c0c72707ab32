/**
 * Request collapsing (connectors/collapse.ts): the reads that concurrent requests make of one
 * dataset and items within one turn of the event loop go to the department as one call, against
 * a real department service on loopback. Each request gets its own answers; a request that goes
 * away, a failure and conflicting records stay with the requests they concern.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ConflictingRecordsError, createConnector, registerConnectorKind, UpstreamError, UpstreamTimeoutError, validateConnectorConfig, type Connector, type FetchRequest,
} from '../../connectors/index.ts';
import { startMisbehavingDepartment, type MisbehavingDepartment } from '../support/misbehaving-department.ts';

const [A, B, C] = ['440106199001011235', '440106199001021231', '440106199001031238'] as const;
const rejection = (promise: Promise<unknown>) => promise.then(() => undefined, (e: unknown) => e);

describe('request collapsing', () => {
  let dept: MisbehavingDepartment;
  const open: Connector[] = [];
  const combined: Array<[string, number]> = [];
  const rest = (config: Record<string, unknown> = {}): Connector => {
    const connector = createConnector('marriage-api', {
      kind: 'rest', baseUrl: dept.url, timeoutMs: 5000, retry: { retries: 0 }, ...config,
    }, { baseDir: process.cwd(), onCombined: (name, reads) => combined.push([name, reads]) });
    open.push(connector);
    return connector;
  };
  const read = (keys: readonly string[], more: Partial<FetchRequest> = {}): FetchRequest => ({
    dataset: 'marriage', keyField: 'idNumber', keys, items: ['maritalStatus'], ...more,
  });

  beforeAll(async () => {
    dept = await startMisbehavingDepartment({
      marriage: { keyField: 'idNumber', record: { maritalStatus: '已婚', spouseName: '李四' } },
      hukou: { keyField: 'idNumber', record: { address: '广州市' } },
    });
  });
  afterAll(async () => {
    await Promise.all(open.map((c) => c.close()));
    await dept.close();
  });

  it('reads of one dataset and items made in one turn go out as one call; each request gets its own answers in its own order', async () => {
    dept.behave('marriage', { kind: 'ok' });
    const connector = rest();
    const before = dept.calls('marriage').length;
    combined.length = 0;
    const [first, second, third] = await Promise.all([
      connector.fetchMany(read([B, A])),
      connector.fetchMany(read([C])),
      connector.fetchMany(read([A, A])),
    ]);
    const calls = dept.calls('marriage').slice(before);
    expect(calls.map((c) => [...c.keys].sort())).toEqual([[A, B, C]]);
    expect(first).toEqual([{ idNumber: B, maritalStatus: '已婚' }, { idNumber: A, maritalStatus: '已婚' }]);
    expect(second).toEqual([{ idNumber: C, maritalStatus: '已婚' }]);
    expect(third).toEqual([{ idNumber: A, maritalStatus: '已婚' }, { idNumber: A, maritalStatus: '已婚' }]);
    // One request masking its answer cannot change another's.
    first![1]!['maritalStatus'] = '*';
    expect(third![0]!['maritalStatus']).toBe('已婚');
    expect(combined).toEqual([['marriage-api', 3]]);
  });

  it('reads of other items or another dataset, or in a later turn, are separate calls', async () => {
    dept.behave('marriage', { kind: 'ok' });
    const connector = rest();
    const before = { marriage: dept.calls('marriage').length, hukou: dept.calls('hukou').length };
    await Promise.all([
      connector.fetchMany(read([A])),
      connector.fetchMany(read([B], { items: ['maritalStatus', 'spouseName'] })),
      connector.fetchMany(read([C], { dataset: 'hukou', items: ['address'] })),
    ]);
    await connector.fetchMany(read([C]));
    const marriage = dept.calls('marriage').slice(before.marriage);
    expect(marriage.map((c) => [c.keys, c.items])).toEqual([[[A], ['maritalStatus']], [[B], ['maritalStatus', 'spouseName']], [[C], ['maritalStatus']]]);
    expect(dept.calls('hukou').slice(before.hukou).map((c) => c.keys)).toEqual([[C]]);
  });

  it('collapse: false sends one call per read', async () => {
    dept.behave('marriage', { kind: 'ok' });
    const connector = rest({ collapse: false });
    const before = dept.calls('marriage').length;
    combined.length = 0;
    await Promise.all([connector.fetchMany(read([A])), connector.fetchMany(read([B]))]);
    expect(dept.calls('marriage').slice(before).map((c) => c.keys)).toEqual([[A], [B]]);
    expect(combined).toEqual([]);
  });

  it('a request that goes away is rejected with its own reason at once; the others still get their answers from the one call', async () => {
    dept.behave('marriage', { kind: 'slow', ms: 300 });
    const connector = rest();
    const before = dept.calls('marriage').length;
    const leaving = new AbortController();
    const gone = rejection(connector.fetchMany(read([A], { signal: leaving.signal })));
    const staying = connector.fetchMany(read([B], { signal: new AbortController().signal }));
    await dept.nextCall('marriage', before);
    const reason = new Error('client closed the request');
    leaving.abort(reason);
    expect(await gone).toBe(reason);
    expect(await staying).toEqual([{ idNumber: B, maritalStatus: '已婚' }]);
    const calls = dept.calls('marriage').slice(before);
    expect(calls.map((c) => c.closedEarlyAt)).toEqual([undefined]);
  });

  it('when every request in a call goes away, the department call is cancelled', async () => {
    dept.behave('marriage', { kind: 'slow', ms: 30_000 });
    const connector = rest();
    const before = dept.calls('marriage').length;
    const one = new AbortController();
    const two = new AbortController();
    const answers = [rejection(connector.fetchMany(read([A], { signal: one.signal }))), rejection(connector.fetchMany(read([B], { signal: two.signal })))];
    const call = await dept.nextCall('marriage', before);
    one.abort(new Error('first gone'));
    two.abort(new Error('second gone'));
    expect((await Promise.all(answers)).map((e) => (e as Error).message)).toEqual(['first gone', 'second gone']);
    expect(await call.closedEarly).toBeGreaterThan(0);
  });

  it('a department failure fails every read of the call', async () => {
    dept.behave('marriage', { kind: 'status', status: 400 });
    const connector = rest();
    const before = dept.calls('marriage').length;
    const errors = await Promise.all([rejection(connector.fetchMany(read([A]))), rejection(connector.fetchMany(read([B])))]);
    expect(dept.calls('marriage').length - before).toBe(1);
    for (const error of errors) {
      expect(error).toBeInstanceOf(UpstreamError);
      expect((error as Error).message).toMatch(/answered HTTP 400/);
    }
  });

  it('two different records for one key fail only the reads that asked for it, for that key only', async () => {
    // The department answers the first key of the call twice, differently: A here.
    dept.behave('marriage', { kind: 'key-twice', marker: '离婚' });
    const connector = rest();
    const [withA, withoutA] = await Promise.all([
      rejection(connector.fetchMany(read([A, B]))),
      connector.fetchMany(read([C])),
    ]);
    expect(withA).toBeInstanceOf(ConflictingRecordsError);
    const conflict = withA as ConflictingRecordsError;
    expect([...conflict.conflicting]).toEqual([A]);
    expect(conflict.answers).toEqual([null, { idNumber: B, maritalStatus: '已婚' }]);
    expect(withoutA).toEqual([{ idNumber: C, maritalStatus: '已婚' }]);
  });

  it('the earliest deadline among its reads bounds the call', async () => {
    dept.behave('marriage', { kind: 'slow', ms: 30_000 });
    const connector = rest({ timeoutMs: 30_000 });
    const [soon, late] = await Promise.all([
      rejection(connector.fetchMany(read([A], { deadline: Date.now() + 200 }))),
      rejection(connector.fetchMany(read([B], { deadline: Date.now() + 60_000 }))),
    ]);
    expect(soon).toBeInstanceOf(UpstreamTimeoutError);
    expect(late).toBeInstanceOf(UpstreamTimeoutError);
  }, 10_000); // alone, the later read would wait for its own deadline or the 30 s timeout

  it('never combines the reads of a kind that passes each request\'s statement on (perRequest), each keeping its context', async () => {
    const seen: FetchRequest[] = [];
    registerConnectorKind({
      kind: 'per-request-probe',
      perRequest: true,
      configSchema: { type: 'object', additionalProperties: false, properties: {} },
      create: (name) => ({
        name, kind: 'per-request-probe',
        fetchMany: async (request) => {
          seen.push(request);
          return request.keys.map((idNumber) => ({ idNumber, maritalStatus: '已婚' }));
        },
        health: async () => ({ ok: true }),
        close: async () => undefined,
      }),
    });
    const connector = createConnector('remote', { kind: 'per-request-probe' }, { baseDir: process.cwd() });
    open.push(connector);
    const context = (requestId: string) => ({ requestId, purpose: 'P', caseId: 'C', operator: 'o', department: 'd', system: 's' });
    await Promise.all([
      connector.fetchMany(read([A], { context: context('r-1') })),
      connector.fetchMany(read([B], { context: context('r-2') })),
    ]);
    expect(seen.map((r) => [r.keys, r.context?.requestId])).toEqual([[[A], 'r-1'], [[B], 'r-2']]);
  });

  it('is a boolean common property, and must stay off for a kind whose reads carry the request (hub)', () => {
    expect(validateConnectorConfig('c.yaml', { kind: 'rest', baseUrl: 'http://h', collapse: 'yes' })).toEqual([
      expect.objectContaining({ path: '/collapse', rule: 'type' }),
    ]);
    expect(validateConnectorConfig('c.yaml', { kind: 'hub', url: 'https://hub.example/graphql', tokenEnv: 'T', collapse: true })).toEqual([
      expect.objectContaining({ path: '/collapse', rule: 'const' }),
    ]);
    expect(validateConnectorConfig('c.yaml', { kind: 'hub', url: 'https://hub.example/graphql', tokenEnv: 'T', collapse: false })).toEqual([]);
  });
});
