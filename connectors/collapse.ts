/**
 * Request collapsing: the reads of one dataset, for the same items, that concurrent requests make
 * within one turn of the event loop become one call to the department system (the keys of all of
 * them in one batch look-up), and each request gets the answers for its own keys.
 *
 * A department's front-end system answers one batch of keys for much less than as many calls:
 * fewer calls spare it, and spare the hub the request, the connection's write and the parse of
 * each. Nothing about an access changes: every request is decided and charged on its own before
 * its read is queued here, and recorded on its own after; each gets its own copy of each answer
 * (`answerInOrder`), so masking one request's answer cannot touch another's. Calls are combined
 * only when the department sees nothing of the request behind them (the built-in kinds but `hub`
 * send only the dataset, the keys and the items), and only for the same dataset, key field and
 * items: a request is never sent items it did not ask for.
 *
 * The window is the rest of the current turn of the event loop (`setImmediate`): a lone request
 * waits for no timer, and under load the requests whose reads became due together share a call.
 *
 * One combined call:
 * - ends by the earliest deadline among its requests (their deadlines differ by the time between
 *   their arrivals); a request with a later deadline can get UpstreamTimeoutError that much sooner;
 * - is aborted only when every request in it has gone away; a request that goes away is rejected at
 *   once with its own signal's reason, the others still get their answers;
 * - fails for all its requests when the department fails it, as one batch request's subjects do;
 *   two different records for one key (ConflictingRecordsError) fail only the requests that asked
 *   for that key, for that key only.
 */
import type { FetchRequest, UpstreamRecord } from './types.ts';
import { ConflictingRecordsError, UpstreamError } from './types.ts';

/** No combined call carries more keys than this (a request above it is sent alone). */
const MAX_COLLAPSED_KEYS = 10_000;

type Answers = Array<UpstreamRecord | null>;

interface Caller {
  readonly request: FetchRequest;
  readonly resolve: (answers: Answers) => void;
  readonly reject: (error: unknown) => void;
  settled: boolean;
  onAbort?: () => void;
}

/** The reads waiting for one call: same dataset, key field and items. */
class Group {
  readonly callers: Caller[] = [];
  keys = 0;
  /** Aborts the combined call once every caller has gone away. */
  readonly controller = new AbortController();
  #live = 0;

  add(request: FetchRequest): Promise<Answers> {
    return new Promise<Answers>((resolve, reject) => {
      const caller: Caller = { request, resolve, reject, settled: false };
      const signal = request.signal;
      if (signal) {
        caller.onAbort = () => {
          if (caller.settled) return;
          caller.settled = true;
          reject(signal.reason);
          if (--this.#live === 0) this.controller.abort(signal.reason);
        };
        signal.addEventListener('abort', caller.onAbort, { once: true });
      }
      this.callers.push(caller);
      this.keys += request.keys.length;
      this.#live += 1;
    });
  }

  /** Every caller still waiting, its abort listener removed. */
  #finish(): Caller[] {
    const waiting: Caller[] = [];
    for (const caller of this.callers) {
      if (caller.onAbort) caller.request.signal?.removeEventListener('abort', caller.onAbort);
      if (caller.settled) continue;
      caller.settled = true;
      waiting.push(caller);
    }
    return waiting;
  }

  /** Hands each caller its part of the combined answers (one per key, in the callers' order). */
  answer(answers: Answers): void {
    const waiting = new Set(this.#finish());
    let at = 0;
    for (const caller of this.callers) {
      const from = at;
      at += caller.request.keys.length;
      if (waiting.has(caller)) caller.resolve(answers.slice(from, at));
    }
  }

  /** Fails every caller still waiting with `error`, or, for conflicting records, only the keys concerned. */
  fail(error: unknown, connector: string): void {
    const waiting = new Set(this.#finish());
    let at = 0;
    for (const caller of this.callers) {
      const { keys } = caller.request;
      const from = at;
      at += keys.length;
      if (!waiting.has(caller)) continue;
      if (!(error instanceof ConflictingRecordsError) || error.answers.length !== this.keys) {
        caller.reject(error);
        continue;
      }
      const part = error.answers.slice(from, from + keys.length);
      const mine = new Set(keys.filter((k) => error.conflicting.has(k)));
      if (mine.size === 0) caller.resolve(part);
      else caller.reject(new ConflictingRecordsError(connector, part, mine));
    }
  }

  /** The one request that stands for all: every caller's keys in order, the earliest deadline. */
  combined(): FetchRequest {
    const first = this.callers[0]!.request;
    let deadline: number | undefined;
    const keys: string[] = [];
    for (const { request } of this.callers) {
      for (const key of request.keys) keys.push(key);
      if (request.deadline !== undefined && (deadline === undefined || request.deadline < deadline)) deadline = request.deadline;
    }
    return {
      dataset: first.dataset,
      keyField: first.keyField,
      items: first.items,
      keys,
      signal: this.controller.signal,
      ...(deadline === undefined ? {} : { deadline }),
    };
  }

  get live(): number {
    return this.#live;
  }
}

/**
 * Combines the concurrent reads given to `fetch` into calls of `call` (the connector's own, with
 * its timeout, retries and circuit breaker): see the module comment.
 */
export class CallCollapser {
  readonly #connector: string;
  readonly #call: (request: FetchRequest) => Promise<Answers>;
  readonly #onCombined: ((reads: number) => void) | undefined;
  #groups = new Map<string, Group>();
  #scheduled = false;

  /** `onCombined` is told the number of reads each combined call (two or more reads) serves. */
  constructor(connector: string, call: (request: FetchRequest) => Promise<Answers>, onCombined?: (reads: number) => void) {
    this.#connector = connector;
    this.#call = call;
    this.#onCombined = onCombined;
  }

  fetch(request: FetchRequest): Promise<Answers> {
    if (request.signal?.aborted) return Promise.reject(request.signal.reason as Error);
    if (request.keys.length === 0 || request.keys.length > MAX_COLLAPSED_KEYS) return this.#call(request);
    const id = `${request.dataset}\u0000${request.keyField}\u0000${request.items.join('\u0000')}`;
    let group = this.#groups.get(id);
    if (group && group.keys + request.keys.length > MAX_COLLAPSED_KEYS) {
      this.#groups.delete(id);
      this.#dispatch(group);
      group = undefined;
    }
    if (!group) {
      group = new Group();
      this.#groups.set(id, group);
    }
    const answer = group.add(request);
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => this.#flush());
    }
    return answer;
  }

  #flush(): void {
    this.#scheduled = false;
    const groups = this.#groups;
    this.#groups = new Map();
    for (const group of groups.values()) this.#dispatch(group);
  }

  #dispatch(group: Group): void {
    if (group.live === 0) return;
    const single = group.callers.length === 1;
    if (!single) {
      try {
        this.#onCombined?.(group.callers.length);
      } catch {
        // A listener's failure must not fail a read.
      }
    }
    let pending: Promise<Answers>;
    try {
      pending = this.#call(single ? { ...group.callers[0]!.request, signal: group.controller.signal } : group.combined());
    } catch (error) {
      pending = Promise.reject(error as Error);
    }
    pending.then(
      (answers) => {
        if (answers.length === group.keys) group.answer(answers);
        else group.fail(new UpstreamError(this.#connector, `connector "${this.#connector}" returned ${answers.length} answers for ${group.keys} keys`, { transient: false }), this.#connector);
      },
      (error: unknown) => group.fail(error, this.#connector),
    );
  }
}
