/**
 * Resilience of every connector, whatever its kind, in one place: a per-call timeout, bounded
 * retries with jittered exponential backoff inside the request's deadline, and a circuit breaker
 * per connector (cockatiel policies). The registry wraps every connector it creates.
 *
 * One `fetchMany` through the wrapper:
 *
 *     collapse (concurrent reads)  →  retry (this call)  →  circuit breaker (this connector)  →  attempt (timeoutMs)  →  the kind's fetchMany
 *
 * - **Collapse** (collapse.ts; the common property `collapse`, default true, never for kinds whose
 *   reads carry the request's statement): the reads of one dataset and items that concurrent
 *   requests make within one turn of the event loop go out as one call; everything below happens
 *   once for that call.
 * - **Per-call timeout**: each attempt gets `timeoutMs` (the kind's own setting, or the common one
 *   for kinds without it, default 5000). Past it the attempt's signal aborts and the attempt fails
 *   with UpstreamTimeoutError at once, whether or not the kind honours its signal. (A plain
 *   controller and timer per attempt: cockatiel's timeout policy costs several times more.)
 * - **Deadline**: `FetchRequest.deadline` (the request's `limits.upstreamDeadlineMs`) bounds the
 *   whole call, retries and backoffs included. At the deadline the call fails with
 *   UpstreamTimeoutError and its attempt is aborted; no retry starts unless at least
 *   `MIN_RETRY_WINDOW_MS` remain after its backoff.
 * - **Retries**: reads are idempotent look-ups, so a transient failure (network error, timeout,
 *   5xx, malformed answer; `UpstreamError.transient`) is tried again up to `retry.retries` times,
 *   after a decorrelated-jitter exponential backoff from `retry.initialDelayMs` up to
 *   `retry.maxDelayMs`. Not retried: configuration problems and 4xx refusals (not transient),
 *   conflicting records (the department answered), refusals of another hub, cancellations.
 * - **Circuit breaker**: `breaker.failures` consecutive failed attempts open the circuit: calls
 *   fail at once (CircuitOpenError, an UpstreamError: UPSTREAM_UNAVAILABLE) without reaching the
 *   department, for `breaker.cooldownMs`; then one probe call is let through (half-open): its
 *   success closes the circuit, its failure opens it again. An attempt cut short by the request's
 *   deadline or by the caller says nothing about the department and is not counted.
 * - **Cancellation**: when the caller's signal aborts (the client went away), the attempt's signal
 *   aborts, no retry follows, and the call rejects with the caller's reason.
 */
import {
  circuitBreaker, CircuitState, ConsecutiveBreaker, ExponentialBackoff, handleWhen, isBrokenCircuitError, retry, wrap,
  type CircuitBreakerPolicy, type IBackoff, type IBackoffFactory, type IRetryBackoffContext,
} from 'cockatiel';
import { raceSignal } from './batch.ts';
import { CallCollapser } from './collapse.ts';
import type { ConfigSchema, Connector, ConnectorCall, ConnectorEvent, FetchRequest, HealthStatus, SourceChange, UpstreamRecord } from './types.ts';
import { ConflictingRecordsError, UpstreamError, UpstreamTimeoutError } from './types.ts';

export interface ResilienceSettings {
  /** Longest wait for one attempt. */
  readonly timeoutMs: number;
  readonly retry: {
    /** Further attempts after a failed one (0: none). */
    readonly retries: number;
    readonly initialDelayMs: number;
    readonly maxDelayMs: number;
  };
  readonly breaker: {
    /** Consecutive failed attempts that open the circuit. */
    readonly failures: number;
    /** How long an open circuit fails calls at once before it lets one probe through. */
    readonly cooldownMs: number;
  };
}

export const DEFAULT_TIMEOUT_MS = 5000;
export const DEFAULT_RETRIES = 2;
export const DEFAULT_INITIAL_DELAY_MS = 100;
export const DEFAULT_MAX_DELAY_MS = 1000;
export const DEFAULT_BREAKER_FAILURES = 5;
export const DEFAULT_COOLDOWN_MS = 10_000;
/** A retry is started only if at least this much of the deadline remains after its backoff. */
export const MIN_RETRY_WINDOW_MS = 50;

/** Names the registry handles for every kind; a kind's own schema must not declare them. */
export const COMMON_PROPERTIES = ['retry', 'breaker', 'collapse'] as const;

/** JSON Schemas of the common connector properties (defaults applied by the registry). */
export const retryConfigSchema: ConfigSchema = {
  type: 'object',
  additionalProperties: false,
  default: {},
  description: 'retries of a failed read (reads are idempotent look-ups), within the request deadline',
  properties: {
    retries: { type: 'integer', minimum: 0, maximum: 10, default: DEFAULT_RETRIES, description: 'further attempts after a failed one; 0: none' },
    initialDelayMs: { type: 'integer', minimum: 1, maximum: 60_000, default: DEFAULT_INITIAL_DELAY_MS, description: 'scale of the first backoff (decorrelated jitter, exponential)' },
    maxDelayMs: { type: 'integer', minimum: 1, maximum: 600_000, default: DEFAULT_MAX_DELAY_MS, description: 'no backoff is longer than this' },
  },
};

export const breakerConfigSchema: ConfigSchema = {
  type: 'object',
  additionalProperties: false,
  default: {},
  description: 'circuit breaker of this connector',
  properties: {
    failures: { type: 'integer', minimum: 1, maximum: 100_000, default: DEFAULT_BREAKER_FAILURES, description: 'consecutive failed attempts that open the circuit' },
    cooldownMs: { type: 'integer', minimum: 100, maximum: 3_600_000, default: DEFAULT_COOLDOWN_MS, description: 'open this long (calls fail at once), then one probe call' },
  },
};

/** The common `collapse`: whether concurrent reads of different requests may share one call (collapse.ts). */
export const collapseConfigSchema: ConfigSchema = {
  type: 'boolean',
  default: true,
  description: 'combine the reads of one dataset and items that concurrent requests make into one batch call; false: one call per request',
};

/** The common `timeoutMs`, for kinds whose own schema has none (e.g. `file`). */
export const timeoutConfigSchema: ConfigSchema = {
  type: 'integer', minimum: 1, maximum: 600_000, default: DEFAULT_TIMEOUT_MS, description: 'longest wait for one attempt',
};

/** An open circuit: the call was not made. */
export class CircuitOpenError extends UpstreamError {
  constructor(connector: string, settings: ResilienceSettings['breaker']) {
    super(
      connector,
      `connector "${connector}": circuit open after ${settings.failures} consecutive failures; calls fail at once for ${settings.cooldownMs} ms, then one probe is let through`,
      { transient: false },
    );
    this.name = 'CircuitOpenError';
  }
}

/** The request's deadline passed during this call: nothing is known about the department. */
class DeadlineExceededError extends UpstreamTimeoutError {
  constructor(connector: string) {
    super(connector, `connector "${connector}": no answer within the request's deadline (limits.upstreamDeadlineMs)`, { transient: false });
    this.name = 'UpstreamTimeoutError';
  }
}

/** Why an attempt was ended by the wrapper rather than by the kind (turned into errors by `explain`). */
const ATTEMPT_TIMED_OUT = Symbol('attempt timed out');
const CALL_ABORTED = Symbol('call aborted');

/** Failures that count against the department for the circuit breaker. */
function isDepartmentFailure(error: unknown): boolean {
  return error instanceof UpstreamError && !(error instanceof ConflictingRecordsError) && !(error instanceof DeadlineExceededError);
}

/** What one call is bounded by: the caller's signal and the request's deadline. */
class CallBounds {
  readonly #controller = new AbortController();
  readonly #caller: AbortSignal | undefined;
  readonly #deadline: number | undefined;
  readonly #timer: ReturnType<typeof setTimeout> | undefined;
  readonly #onCallerAbort = (): void => this.#controller.abort(this.#caller?.reason);

  constructor(caller: AbortSignal | undefined, deadline: number | undefined) {
    this.#caller = caller;
    this.#deadline = deadline;
    caller?.addEventListener('abort', this.#onCallerAbort, { once: true });
    if (deadline !== undefined) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) this.#controller.abort();
      else this.#timer = setTimeout(() => this.#controller.abort(), remaining);
    }
  }

  /** Aborted when the caller aborts or the deadline passes. */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  get callerAborted(): boolean {
    return this.#caller?.aborted === true;
  }

  get deadlinePassed(): boolean {
    return this.#deadline !== undefined && (this.#controller.signal.aborted || Date.now() >= this.#deadline) && !this.callerAborted;
  }

  /** Milliseconds left before the deadline (Infinity without one). */
  remaining(): number {
    return this.#deadline === undefined ? Infinity : this.#deadline - Date.now();
  }

  dispose(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#caller?.removeEventListener('abort', this.#onCallerAbort);
  }
}

/** A backoff whose delays never run past what the call has left. */
function withinDeadline(
  backoff: IBackoff<IRetryBackoffContext<unknown>>, bounds: CallBounds,
): IBackoff<IRetryBackoffContext<unknown>> {
  return {
    get duration() {
      return Math.max(0, Math.min(backoff.duration, bounds.remaining() - MIN_RETRY_WINDOW_MS));
    },
    next: (context) => withinDeadline(backoff.next(context), bounds),
  };
}

export interface CallOptions {
  /** Combine the concurrent reads of different requests into one call (collapse.ts; the `collapse` property). */
  readonly collapse?: boolean;
  /** Told the number of reads each combined call serves (for metrics). */
  readonly onCombined?: (reads: number) => void;
}

/**
 * Runs a connector's calls under its timeout, retry and circuit-breaker policies, after combining
 * concurrent reads of one dataset into one call where the connector's `collapse` allows it.
 */
export class ResilientConnector implements Connector {
  readonly name: string;
  readonly kind: string;
  readonly settings: ResilienceSettings;
  readonly #inner: Connector;
  readonly #breaker: CircuitBreakerPolicy;
  readonly #backoff: IBackoffFactory<IRetryBackoffContext<unknown>>;
  readonly #onEvent: ((event: ConnectorEvent) => void) | undefined;
  readonly #onCall: ((call: ConnectorCall) => void) | undefined;
  /** When the circuit last opened (`Date.now()`). */
  #openedAt = 0;
  readonly #collapser: CallCollapser | undefined;

  constructor(
    inner: Connector, settings: ResilienceSettings, onEvent?: (event: ConnectorEvent) => void, onCall?: (call: ConnectorCall) => void,
    options: CallOptions = {},
  ) {
    this.name = inner.name;
    this.kind = inner.kind;
    this.settings = settings;
    this.#inner = inner;
    this.#onEvent = onEvent;
    this.#onCall = onCall;
    this.#collapser = options.collapse ? new CallCollapser(this.name, (request) => this.#call(request), options.onCombined) : undefined;
    this.#breaker = circuitBreaker(handleWhen(isDepartmentFailure), {
      halfOpenAfter: settings.breaker.cooldownMs,
      breaker: new ConsecutiveBreaker(settings.breaker.failures),
    });
    this.#breaker.onBreak((reason) => {
      this.#openedAt = Date.now();
      this.#emit({ event: 'circuit-open', detail: 'error' in reason && reason.error instanceof Error ? reason.error.message : 'opened' });
    });
    this.#breaker.onHalfOpen(() => this.#emit({ event: 'circuit-half-open' }));
    this.#breaker.onReset(() => this.#emit({ event: 'circuit-closed' }));
    this.#backoff = new ExponentialBackoff({ initialDelay: settings.retry.initialDelayMs, maxDelay: settings.retry.maxDelayMs });
  }

  /** The connector this one wraps (the kind's own). */
  get inner(): Connector {
    return this.#inner;
  }

  /** Whether the circuit is open and still cooling down: a read now would fail at once. */
  get circuitOpen(): boolean {
    const { state } = this.#breaker;
    if (state === CircuitState.Isolated) return true;
    return state === CircuitState.Open && Date.now() - this.#openedAt < this.settings.breaker.cooldownMs;
  }

  #emit(event: Omit<ConnectorEvent, 'connector'>): void {
    try {
      this.#onEvent?.({ connector: this.name, ...event });
    } catch {
      // A listener's failure must not fail a read.
    }
  }

  #called(outcome: ConnectorCall['outcome'], started: number, request: FetchRequest): void {
    try {
      this.#onCall?.({ connector: this.name, outcome, durationMs: performance.now() - started, keys: request.keys.length });
    } catch {
      // A listener's failure must not fail a read.
    }
  }

  fetchMany(request: FetchRequest): Promise<Array<UpstreamRecord | null>> {
    return this.#collapser ? this.#collapser.fetch(request) : this.#call(request);
  }

  async #call(request: FetchRequest): Promise<Array<UpstreamRecord | null>> {
    if (request.signal?.aborted) throw request.signal.reason;
    if (request.keys.length === 0) return this.#inner.fetchMany(request);
    const bounds = new CallBounds(request.signal, request.deadline);
    if (bounds.deadlinePassed) {
      bounds.dispose();
      throw new DeadlineExceededError(this.name);
    }
    const retries = retry(
      handleWhen((error) => error instanceof UpstreamError && error.transient && !(error instanceof ConflictingRecordsError)
        && bounds.remaining() > MIN_RETRY_WINDOW_MS),
      {
        maxAttempts: this.settings.retry.retries,
        backoff: { next: (context) => withinDeadline(this.#backoff.next(context), bounds) },
      },
    );
    const listener = this.#onEvent && retries.onRetry((event) => this.#emit({
      event: 'retry',
      attempt: event.attempt + 1,
      delayMs: Math.round(event.delay),
      ...('error' in event && event.error instanceof Error ? { detail: event.error.message } : {}),
    }));
    const started = performance.now();
    try {
      const answers = await raceBounds(wrap(retries, this.#breaker).execute(() => this.#attempt(request, bounds), bounds.signal), bounds);
      this.#called('ok', started, request);
      return answers;
    } catch (error) {
      const explained = this.#explain(error, bounds, request);
      this.#called(bounds.callerAborted ? 'cancelled' : explained instanceof CircuitOpenError ? 'circuit_open' : explained instanceof UpstreamTimeoutError ? 'timeout' : 'error', started, request);
      throw explained;
    } finally {
      listener?.dispose();
      bounds.dispose();
    }
  }

  /**
   * One attempt: the kind's call with a signal of its own, ended at `timeoutMs` or when the call's
   * bounds abort, whether or not the kind honours its signal (the signal is aborted then).
   */
  #attempt(request: FetchRequest, bounds: CallBounds): Promise<Array<UpstreamRecord | null>> {
    const controller = new AbortController();
    return new Promise((resolve, reject) => {
      let settled = false;
      const finish = (): boolean => {
        if (settled) return false;
        settled = true;
        clearTimeout(timer);
        bounds.signal.removeEventListener('abort', onBounds);
        return true;
      };
      const end = (why: symbol): void => {
        if (!finish()) return;
        controller.abort();
        reject(this.#explain(why, bounds, request));
      };
      const onBounds = (): void => end(CALL_ABORTED);
      const timer = setTimeout(() => end(ATTEMPT_TIMED_OUT), this.settings.timeoutMs);
      if (bounds.signal.aborted) return onBounds();
      bounds.signal.addEventListener('abort', onBounds, { once: true });
      let pending: Promise<Array<UpstreamRecord | null>>;
      try {
        pending = this.#inner.fetchMany({ ...request, signal: controller.signal });
      } catch (error) {
        pending = Promise.reject(error as Error);
      }
      pending.then(
        (answers) => {
          if (finish()) resolve(answers);
        },
        (error: unknown) => {
          if (finish()) reject(this.#explain(error, bounds, request));
        },
      );
    });
  }

  /** The error a failed attempt or call stands for, in the hub's terms. */
  #explain(error: unknown, bounds: CallBounds, request: FetchRequest): unknown {
    if (bounds.callerAborted) return request.signal?.reason;
    if (error instanceof DeadlineExceededError) return error;
    if (bounds.deadlinePassed || error === CALL_ABORTED) return new DeadlineExceededError(this.name);
    if (error === ATTEMPT_TIMED_OUT) {
      return new UpstreamTimeoutError(this.name, `${this.kind} connector "${this.name}": timed out after ${this.settings.timeoutMs} ms (no answer within timeoutMs)`);
    }
    if (isBrokenCircuitError(error)) return new CircuitOpenError(this.name, this.settings.breaker);
    return error;
  }

  async health(): Promise<HealthStatus> {
    const inner = await this.#inner.health();
    if (!this.circuitOpen) return inner;
    const detail = `circuit open (calls fail at once for up to ${this.settings.breaker.cooldownMs} ms after ${this.settings.breaker.failures} consecutive failures)`;
    return { ok: false, detail: inner.detail ? `${detail}; ${inner.detail}` : detail };
  }

  /**
   * When the dataset last changed (quality reports): null when the kind cannot tell. One attempt
   * within `timeoutMs`, outside the retries and the circuit breaker (it reads no records, and a
   * report is not a reason to open or close a department's circuit).
   */
  async lastChanged(request: { readonly dataset: string; readonly signal?: AbortSignal }): Promise<SourceChange | null> {
    const inner = this.#inner;
    if (!inner.lastChanged) return null;
    const timeout = AbortSignal.timeout(this.settings.timeoutMs);
    const signal = request.signal ? AbortSignal.any([timeout, request.signal]) : timeout;
    try {
      return await raceSignal(inner.lastChanged({ dataset: request.dataset, signal }), signal);
    } catch (error) {
      if (timeout.aborted && !request.signal?.aborted) {
        throw new UpstreamTimeoutError(this.name, `${this.kind} connector "${this.name}": no answer about the data's last change within ${this.settings.timeoutMs} ms`);
      }
      throw error;
    }
  }

  close(): Promise<void> {
    return this.#inner.close();
  }
}

/** Settles like `promise`, or rejects as soon as the call's bounds abort (the work is abandoned). */
function raceBounds<T>(promise: Promise<T>, bounds: CallBounds): Promise<T> {
  return raceSignal(promise, bounds.signal, () => CALL_ABORTED);
}
