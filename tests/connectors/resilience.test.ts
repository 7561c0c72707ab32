/**
 * The resilience layer every connector gets from the registry (connectors/resilience.ts): common
 * config properties, per-call timeout, retries within the request's deadline, circuit breaker,
 * cancellation; and what a REST department's misbehaviour becomes below the gateway.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  CircuitOpenError, ConflictingRecordsError, createConnector, registerConnectorKind, ResilientConnector, UpstreamError,
  UpstreamTimeoutError, validateConnectorConfig, type Connector, type ConnectorEvent, type FetchRequest, type UpstreamRecord,
} from '../../connectors/index.ts';
import { startMisbehavingDepartment, type MisbehavingDepartment } from '../support/misbehaving-department.ts';

const context = { baseDir: process.cwd() };
const request: FetchRequest = { dataset: 'd', keyField: 'id', keys: ['a', 'b'], items: ['x'] };
const answers = [{ id: 'a', x: 1 }, { id: 'b', x: 2 }];

/** A kind whose every call does what the test scripts, counting calls and the signals it was given. */
function scripted(name: string, step: (call: number, signal: AbortSignal | undefined) => Promise<Array<UpstreamRecord | null>>) {
  const seen: { calls: number; signals: AbortSignal[] } = { calls: 0, signals: [] };
  const inner: Connector = {
    name,
    kind: 'scripted',
    fetchMany: (r) => {
      seen.calls += 1;
      if (r.signal) seen.signals.push(r.signal);
      return step(seen.calls, r.signal);
    },
    health: async () => ({ ok: true, detail: 'scripted' }),
    close: async () => undefined,
  };
  return { inner, seen };
}

function settings(overrides: { timeoutMs?: number; retries?: number; initialDelayMs?: number; maxDelayMs?: number; failures?: number; cooldownMs?: number } = {}) {
  return {
    timeoutMs: overrides.timeoutMs ?? 2000,
    retry: { retries: overrides.retries ?? 2, initialDelayMs: overrides.initialDelayMs ?? 5, maxDelayMs: overrides.maxDelayMs ?? 20 },
    breaker: { failures: overrides.failures ?? 100, cooldownMs: overrides.cooldownMs ?? 10_000 },
  };
}

const failing = (transient = true) => () => Promise.reject(new UpstreamError('s', 'department answered HTTP 503', { transient }));
/** Never settles unless its signal aborts (then rejects with the signal's reason, as the built-in kinds do). */
const hanging = (_call: number, signal: AbortSignal | undefined) => new Promise<never>((_resolve, reject) => {
  signal?.addEventListener('abort', () => reject(signal.reason as Error), { once: true });
});
const rejection = (promise: Promise<unknown>) => promise.then(() => undefined, (e: unknown) => e);

describe('common connector properties (registry)', () => {
  it('apply defaults: timeoutMs from the kind (or 5000), retries 2, breaker 5 failures / 10 s', async () => {
    const rest = createConnector('r', { kind: 'rest', baseUrl: 'http://127.0.0.1:1', timeoutMs: 3000 }, context);
    const file = createConnector('f', { kind: 'file', directory: '.' }, context);
    expect(rest).toBeInstanceOf(ResilientConnector);
    expect(rest.settings).toEqual({ timeoutMs: 3000, retry: { retries: 2, initialDelayMs: 100, maxDelayMs: 1000 }, breaker: { failures: 5, cooldownMs: 10_000 } });
    expect(file.settings.timeoutMs).toBe(5000);
    await Promise.all([rest.close(), file.close()]);
  });

  it('accept retry, breaker and (for kinds without their own) timeoutMs on any kind, never passing them to the kind', async () => {
    const given: Array<Record<string, unknown>> = [];
    registerConnectorKind({
      kind: 'resilience-probe',
      configSchema: { type: 'object', additionalProperties: false, properties: { size: { type: 'integer', default: 1 } } },
      create(name, config) {
        given.push(config);
        return scripted(name, async () => []).inner;
      },
    });
    const connector = createConnector('p', {
      kind: 'resilience-probe', timeoutMs: 700, retry: { retries: 0 }, breaker: { failures: 2, cooldownMs: 500 },
    }, context);
    expect(given).toEqual([{ size: 1 }]);
    expect(connector.settings).toEqual({ timeoutMs: 700, retry: { retries: 0, initialDelayMs: 100, maxDelayMs: 1000 }, breaker: { failures: 2, cooldownMs: 500 } });
    await connector.close();
  });

  it('name the path and rule of each bad common property', () => {
    const found = validateConnectorConfig('connectors.yaml', {
      kind: 'file', directory: '.', timeoutMs: 0, retry: { retries: -1, backoff: 'fast' }, breaker: { failures: 0, cooldownMs: 'soon' },
    }).map((v) => `${v.path} ${v.rule}`);
    expect(found.sort()).toEqual([
      '/breaker/cooldownMs type', '/breaker/failures minimum', '/retry/backoff additionalProperties', '/retry/retries minimum', '/timeoutMs minimum',
    ]);
    expect(validateConnectorConfig('c.yaml', { kind: 'rest', baseUrl: 'http://h', retry: 2 })).toEqual([
      expect.objectContaining({ path: '/retry', rule: 'type' }),
    ]);
  });

  it('refuse a kind whose schema declares a common property', () => {
    expect(() => registerConnectorKind({
      kind: 'declares-retry',
      configSchema: { type: 'object', properties: { retry: { type: 'integer' } } },
      create: (name) => scripted(name, async () => []).inner,
    })).toThrow(/must not declare "retry"/);
  });
});

describe('retries', () => {
  it('retry a transient failure and answer when a later attempt succeeds', async () => {
    const { inner, seen } = scripted('s', async (call) => {
      if (call < 3) throw new UpstreamError('s', 'department answered HTTP 503');
      return answers;
    });
    const events: ConnectorEvent[] = [];
    const connector = new ResilientConnector(inner, settings({ retries: 2 }), (e) => events.push(e));
    expect(await connector.fetchMany(request)).toEqual(answers);
    expect(seen.calls).toBe(3);
    expect(events.map((e) => [e.event, e.attempt])).toEqual([['retry', 2], ['retry', 3]]);
  });

  it('give up after `retries` further attempts with the last failure', async () => {
    const { inner, seen } = scripted('s', failing());
    const error = await rejection(new ResilientConnector(inner, settings({ retries: 2 })).fetchMany(request));
    expect(error).toBeInstanceOf(UpstreamError);
    expect((error as Error).message).toBe('department answered HTTP 503');
    expect(seen.calls).toBe(3);
  });

  it('never retry a failure that is not transient (a 4xx, a missing secret)', async () => {
    const { inner, seen } = scripted('s', failing(false));
    await rejection(new ResilientConnector(inner, settings({ retries: 2 })).fetchMany(request));
    expect(seen.calls).toBe(1);
  });

  it('never retry conflicting records: the department answered', async () => {
    const { inner, seen } = scripted('s', () => Promise.reject(new ConflictingRecordsError('s', [null, answers[1]!], new Set(['a']))));
    const error = await rejection(new ResilientConnector(inner, settings({ retries: 2 })).fetchMany(request));
    expect(error).toBeInstanceOf(ConflictingRecordsError);
    expect(seen.calls).toBe(1);
  });

  it('never wait past the deadline, backoffs included', async () => {
    const { inner } = scripted('s', failing());
    const connector = new ResilientConnector(inner, settings({ retries: 10, initialDelayMs: 10_000, maxDelayMs: 20_000 }));
    const started = Date.now();
    const error = await rejection(connector.fetchMany({ ...request, deadline: started + 400 }));
    const elapsed = Date.now() - started;
    expect((error as Error).message).toBe('department answered HTTP 503');
    expect(elapsed).toBeLessThan(400 + 300);
  });
});

describe('timeouts', () => {
  it('end an attempt at timeoutMs even when the kind ignores its signal', async () => {
    const { inner, seen } = scripted('s', () => new Promise<never>(() => undefined));
    const started = Date.now();
    const error = await rejection(new ResilientConnector(inner, settings({ timeoutMs: 150, retries: 0 })).fetchMany(request));
    expect(error).toBeInstanceOf(UpstreamTimeoutError);
    expect((error as Error).message).toBe('scripted connector "s": timed out after 150 ms (no answer within timeoutMs)');
    expect(Date.now() - started).toBeLessThan(1500);
    expect(seen.signals[0]?.aborted).toBe(true);
  });

  it('end the call at the request deadline, aborting the attempt, before timeoutMs', async () => {
    const { inner, seen } = scripted('s', hanging);
    const connector = new ResilientConnector(inner, settings({ timeoutMs: 5000, retries: 2 }));
    const started = Date.now();
    const error = await rejection(connector.fetchMany({ ...request, deadline: started + 200 }));
    expect(error).toBeInstanceOf(UpstreamTimeoutError);
    expect((error as Error).message).toContain('request\'s deadline');
    expect(Date.now() - started).toBeLessThan(1500);
    expect(seen.calls).toBe(1);
    expect(seen.signals[0]?.aborted).toBe(true);
  });

  it('fail at once when the deadline has already passed, without calling', async () => {
    const { inner, seen } = scripted('s', async () => answers);
    const error = await rejection(new ResilientConnector(inner, settings()).fetchMany({ ...request, deadline: Date.now() - 1 }));
    expect(error).toBeInstanceOf(UpstreamTimeoutError);
    expect(seen.calls).toBe(0);
  });
});

describe('cancellation', () => {
  it('abort the attempt and reject with the caller’s reason, without retrying', async () => {
    const { inner, seen } = scripted('s', hanging);
    const controller = new AbortController();
    const reason = new Error('client went away');
    setTimeout(() => controller.abort(reason), 50);
    const error = await rejection(new ResilientConnector(inner, settings({ retries: 2 })).fetchMany({ ...request, signal: controller.signal }));
    expect(error).toBe(reason);
    expect(seen.calls).toBe(1);
    expect(seen.signals[0]?.aborted).toBe(true);
  });
});

describe('circuit breaker', () => {
  it('opens after `failures` consecutive failures, fails fast without calling, then lets one probe through', async () => {
    let healthy = false;
    const { inner, seen } = scripted('s', async () => {
      if (!healthy) throw new UpstreamError('s', 'department answered HTTP 500');
      return answers;
    });
    const events: string[] = [];
    const connector = new ResilientConnector(inner, settings({ retries: 0, failures: 2, cooldownMs: 300 }), (e) => events.push(e.event));
    await rejection(connector.fetchMany(request));
    await rejection(connector.fetchMany(request));
    expect(connector.circuitOpen).toBe(true);
    const fast = await rejection(connector.fetchMany(request));
    expect(fast).toBeInstanceOf(CircuitOpenError);
    expect(seen.calls).toBe(2);
    expect(await connector.health()).toEqual({ ok: false, detail: expect.stringMatching(/^circuit open .*; scripted$/) as unknown });
    healthy = true;
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(await connector.fetchMany(request)).toEqual(answers);
    expect(seen.calls).toBe(3);
    expect(connector.circuitOpen).toBe(false);
    expect(events).toEqual(['circuit-open', 'circuit-half-open', 'circuit-closed']);
  });

  it('opens again when the probe fails', async () => {
    const { inner, seen } = scripted('s', failing());
    const connector = new ResilientConnector(inner, settings({ retries: 0, failures: 1, cooldownMs: 200 }));
    await rejection(connector.fetchMany(request));
    await new Promise((resolve) => setTimeout(resolve, 300));
    await rejection(connector.fetchMany(request));
    expect(seen.calls).toBe(2);
    expect(await rejection(connector.fetchMany(request))).toBeInstanceOf(CircuitOpenError);
    expect(seen.calls).toBe(2);
  });

  it('counts retries as attempts, but not attempts cut short by the deadline or the caller', async () => {
    const { inner } = scripted('s', hanging);
    const connector = new ResilientConnector(inner, settings({ retries: 0, failures: 1 }));
    await rejection(connector.fetchMany({ ...request, deadline: Date.now() + 100 }));
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('gone')), 50);
    await rejection(connector.fetchMany({ ...request, signal: controller.signal }));
    expect(connector.circuitOpen).toBe(false);
  });
});

describe('a misbehaving REST department, below the gateway', () => {
  let dept: MisbehavingDepartment;
  const keys = ['440106199001011235', '440106199001021231'];
  const rest = (config: Record<string, unknown> = {}) => createConnector('misbehaving', {
    kind: 'rest', baseUrl: dept.url, timeoutMs: 500, retry: { retries: 0 }, ...config,
  }, context);
  const lookup: FetchRequest = { dataset: 'marriage', keyField: 'idNumber', keys, items: ['maritalStatus'] };
  beforeAll(async () => {
    dept = await startMisbehavingDepartment({ marriage: { keyField: 'idNumber', record: { maritalStatus: '已婚' } } });
  });
  afterAll(() => dept.close());

  it('a key answered twice with different records: neither served for it, the other key served, no retry', async () => {
    dept.behave('marriage', { kind: 'key-twice', marker: '离婚' });
    const connector = rest({ retry: { retries: 2 } });
    const before = dept.calls('marriage').length;
    const error = await rejection(connector.fetchMany(lookup));
    expect(error).toBeInstanceOf(ConflictingRecordsError);
    const conflict = error as ConflictingRecordsError;
    expect([...conflict.conflicting]).toEqual([keys[0]]);
    expect(conflict.answers).toEqual([null, { idNumber: keys[1], maritalStatus: '已婚' }]);
    expect(conflict.message).not.toContain(keys[0]);
    expect(dept.calls('marriage').length - before).toBe(1);
    await connector.close();
  });

  it('identical copies of a record count as one', async () => {
    dept.behave('marriage', { kind: 'key-twice', marker: '已婚' });
    const connector = rest();
    expect(await connector.fetchMany(lookup)).toEqual(keys.map((idNumber) => ({ idNumber, maritalStatus: '已婚' })));
    await connector.close();
  });

  it('records under keys that were not asked are dropped', async () => {
    dept.behave('marriage', { kind: 'only-other-keys', keys: ['11010519491231002X'], marker: '他人' });
    const connector = rest();
    expect(await connector.fetchMany(lookup)).toEqual([null, null]);
    await connector.close();
  });

  it('a body that stalls half-way times out, and the department sees its connection closed', async () => {
    dept.behave('marriage', { kind: 'stall-body' });
    const connector = rest();
    const before = dept.calls('marriage').length;
    const started = Date.now();
    const error = await rejection(connector.fetchMany(lookup));
    expect(error).toBeInstanceOf(UpstreamTimeoutError);
    expect(Date.now() - started).toBeLessThan(2000);
    const call = dept.calls('marriage')[before]!;
    const closedAt = await Promise.race([call.closedEarly, new Promise<number>((resolve) => setTimeout(() => resolve(-1), 2000))]);
    expect(closedAt).toBeGreaterThan(0);
    await connector.close();
  });
});
