/**
 * A department service that speaks the hub's batch-lookup protocol (docs/catalogue.md) and
 * misbehaves on demand: a real node:http server on 127.0.0.1. Each dataset behaves as the test
 * sets it (`behave`); every call is recorded, including whether the hub closed it before the
 * answer was complete (cancellation, timeouts).
 *
 *     const dept = await startMisbehavingDepartment({ marriage: { keyField: 'idNumber', record: { maritalStatus: '已婚' } } });
 *     dept.behave('marriage', { kind: 'slow', ms: 30_000 });
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Misbehaviour =
  /** A well-formed answer: one record per asked key. */
  | { readonly kind: 'ok' }
  /** The well-formed answer, after `ms`. */
  | { readonly kind: 'slow'; readonly ms: number }
  /** Only this status and a JSON error body. */
  | { readonly kind: 'status'; readonly status: number }
  /** 200 with a body that is not JSON (cut in the middle of a record). */
  | { readonly kind: 'malformed-json' }
  /** Records whose items have the wrong types (the dataset's `wrongTypes` values): every record, or those of `keys` only. */
  | { readonly kind: 'wrong-types'; readonly keys?: readonly string[] }
  /** The asked records plus records for keys nobody asked (`keys`, with `record` values marked `marker`). */
  | { readonly kind: 'unasked-keys'; readonly keys: readonly string[]; readonly marker: string }
  /** Instead of the asked keys' records, records under other keys only (mislabelled answers). */
  | { readonly kind: 'only-other-keys'; readonly keys: readonly string[]; readonly marker: string }
  /** The first asked key answered twice, the second copy differing in every item (`marker`). */
  | { readonly kind: 'key-twice'; readonly marker: string }
  /** Headers and the start of the body, then nothing (the socket stays open). */
  | { readonly kind: 'stall-body' };

export interface DatasetSpec {
  readonly keyField: string;
  /** Item values of every record answered (the key field is added). */
  readonly record: Readonly<Record<string, unknown>>;
  /** Item values that break the items' types, for `wrong-types`. */
  readonly wrongTypes?: Readonly<Record<string, unknown>>;
}

export interface DepartmentCall {
  readonly dataset: string;
  readonly keys: readonly string[];
  readonly items: readonly string[];
  readonly receivedAt: number;
  /** When the hub closed the connection before the answer was complete (undefined: it was not). */
  closedEarlyAt: number | undefined;
  /** Resolves when the hub closes the connection before the answer is complete. */
  readonly closedEarly: Promise<number>;
}

export interface MisbehavingDepartment {
  readonly url: string;
  behave(dataset: string, behaviour: Misbehaviour): void;
  /** Calls received for a dataset, oldest first. */
  calls(dataset: string): readonly DepartmentCall[];
  /** Resolves with the next call for the dataset (one already received after `after` calls counts). */
  nextCall(dataset: string, after?: number): Promise<DepartmentCall>;
  close(): Promise<void>;
}

const JSON_HEADERS = { 'content-type': 'application/json' };

export async function startMisbehavingDepartment(datasets: Readonly<Record<string, DatasetSpec>>): Promise<MisbehavingDepartment> {
  const behaviours = new Map<string, Misbehaviour>();
  const calls = new Map<string, DepartmentCall[]>();
  const waiters: Array<{ dataset: string; after: number; resolve: (call: DepartmentCall) => void }> = [];
  const timers = new Set<ReturnType<typeof setTimeout>>();

  const recordsFor = (spec: DatasetSpec, keys: readonly string[], values: Readonly<Record<string, unknown>>) =>
    keys.map((key) => ({ [spec.keyField]: key, ...values }));

  const answer = (dataset: string, spec: DatasetSpec, call: DepartmentCall, res: ServerResponse): void => {
    const behaviour = behaviours.get(dataset) ?? { kind: 'ok' };
    const send = (status: number, body: string): void => {
      res.writeHead(status, JSON_HEADERS);
      res.end(body);
    };
    const records = (values: Readonly<Record<string, unknown>> = spec.record) => recordsFor(spec, call.keys, values);
    switch (behaviour.kind) {
      case 'ok':
        return send(200, JSON.stringify({ records: records() }));
      case 'slow': {
        const timer = setTimeout(() => {
          timers.delete(timer);
          send(200, JSON.stringify({ records: records() }));
        }, behaviour.ms);
        timers.add(timer);
        res.on('close', () => {
          clearTimeout(timer);
          timers.delete(timer);
        });
        return;
      }
      case 'status':
        return send(behaviour.status, JSON.stringify({ error: 'scripted failure' }));
      case 'malformed-json':
        return send(200, `{"records": [{"${spec.keyField}": "${call.keys[0] ?? ''}", "x`);
      case 'wrong-types': {
        const wrong = { ...spec.record, ...spec.wrongTypes };
        const only = behaviour.keys;
        return send(200, JSON.stringify({ records: only ? call.keys.map((key) => ({ [spec.keyField]: key, ...(only.includes(key) ? wrong : spec.record) })) : records(wrong) }));
      }
      case 'unasked-keys': {
        const marked = Object.fromEntries(Object.keys(spec.record).map((item) => [item, behaviour.marker]));
        return send(200, JSON.stringify({ records: [...records(), ...recordsFor(spec, behaviour.keys, marked)] }));
      }
      case 'only-other-keys': {
        const marked = Object.fromEntries(Object.keys(spec.record).map((item) => [item, behaviour.marker]));
        return send(200, JSON.stringify({ records: recordsFor(spec, behaviour.keys, marked) }));
      }
      case 'key-twice': {
        const first = call.keys.slice(0, 1);
        const marked = Object.fromEntries(Object.keys(spec.record).map((item) => [item, behaviour.marker]));
        return send(200, JSON.stringify({ records: [...records(), ...recordsFor(spec, first, marked)] }));
      }
      case 'stall-body':
        res.writeHead(200, JSON_HEADERS);
        res.write(`{"records": [{"${spec.keyField}": "`);
        return;
    }
  };

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const match = /^\/([^/]+)\/batch-lookup$/.exec(req.url ?? '');
    const dataset = match ? decodeURIComponent(match[1]!) : '';
    const spec = datasets[dataset];
    if (req.method !== 'POST' || spec === undefined) {
      res.writeHead(404, JSON_HEADERS);
      res.end('{"error": "no such dataset"}');
      return;
    }
    const parts: Buffer[] = [];
    req.on('data', (part: Buffer) => parts.push(part));
    req.on('end', () => {
      let body: { keys?: unknown; items?: unknown };
      try {
        body = JSON.parse(Buffer.concat(parts).toString('utf8')) as typeof body;
      } catch {
        res.writeHead(400, JSON_HEADERS);
        res.end('{"error": "bad request"}');
        return;
      }
      let closed!: (at: number) => void;
      const call: DepartmentCall = {
        dataset,
        keys: Array.isArray(body.keys) ? body.keys.map(String) : [],
        items: Array.isArray(body.items) ? body.items.map(String) : [],
        receivedAt: Date.now(),
        closedEarlyAt: undefined,
        closedEarly: new Promise<number>((resolve) => (closed = resolve)),
      };
      res.on('close', () => {
        if (res.writableFinished) return;
        call.closedEarlyAt = Date.now();
        closed(call.closedEarlyAt);
      });
      const list = calls.get(dataset) ?? [];
      list.push(call);
      calls.set(dataset, list);
      for (const waiter of waiters.filter((w) => w.dataset === dataset && list.length > w.after)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(list[waiter.after]!);
      }
      answer(dataset, spec, call, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    behave(dataset, behaviour) {
      behaviours.set(dataset, behaviour);
    },
    calls: (dataset) => calls.get(dataset) ?? [],
    nextCall(dataset, after = calls.get(dataset)?.length ?? 0) {
      const list = calls.get(dataset) ?? [];
      if (list.length > after) return Promise.resolve(list[after]!);
      return new Promise((resolve) => waiters.push({ dataset, after, resolve }));
    },
    close: () => new Promise<void>((resolve) => {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}
