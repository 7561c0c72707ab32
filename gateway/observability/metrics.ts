/**
 * Operational metrics (X-Road keeps them apart from evidence: counts and latencies, never who or
 * whom). One prom-client Registry per hub, not the global one: several hubs in one process (tests,
 * benchmarks) keep their own counts. Labels hold operation names, refusal codes, resource codes,
 * connector names and grant ids only: never a subject key, a token or a case number.
 *
 * The names and labels are listed in README.md (Observability) and queried by
 * ops/grafana/yiwang-hub.json; tests/unit/observability.test.ts keeps the two in step.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Seconds: from a cached look-up (sub-millisecond) to the default upstream deadline (10 s). */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const BLOCK_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096];

/** Most distinct client-chosen operation names tracked; later ones are counted as `other`. */
export const MAX_OPERATION_NAMES = 200;
const OPERATION_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

/** Circuit state as a gauge value: 0 closed, 1 half-open, 2 open. */
export const CIRCUIT_STATE = { closed: 0, 'half-open': 1, open: 2 } as const;

/** Shortest scrape token accepted: a guessable one is as good as none. */
export const MIN_SCRAPE_TOKEN = 16;

const digest = (text: string) => createHash('sha256').update(text).digest();

/** Live values read at scrape time (cheap getters, no I/O). */
export interface MetricSources {
  readonly auditQueueDepth?: () => number;
  /** `Date.now()` of the last successful grant refresh (0: never). */
  readonly grantsRefreshedAt?: () => number;
  /** `Date.now()` of the last token-cache clear (the oldest a cached look-up can be), and its size. */
  readonly tokenCacheClearedAt?: () => number;
  readonly tokenCacheEntries?: () => number;
}

export class HubMetrics {
  readonly registry = new Registry();
  readonly #operations = new Set<string>();
  /** SHA-256 of the scrape token (the token itself is not kept), or null: every scrape is refused. */
  readonly #scrapeDigest: Buffer | null;

  readonly requests = new Counter({
    name: 'hub_graphql_requests_total',
    help: 'GraphQL requests served, by operation name and outcome (ok | partial | refused | rejected)',
    labelNames: ['operation', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly requestDuration = new Histogram({
    name: 'hub_graphql_request_duration_seconds',
    help: 'GraphQL request latency from arrival to response, by operation name and outcome',
    labelNames: ['operation', 'outcome'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  /** Counts of `decisions` not yet added to it: `countDecision` runs for every record, and a labelled `inc` hashes its labels each time. */
  readonly #decided = new Map<string, Map<string, Map<string, Map<string, number>>>>();

  readonly decisions = new Counter({
    name: 'hub_access_decisions_total',
    help: 'Access records built (one per evidence record), by action, decision, refusal code (none when allowed) and resource code',
    labelNames: ['action', 'decision', 'code', 'resource'] as const,
    registers: [this.registry],
    collect: () => this.#addDecided(),
  });

  /** One access record built, by action, decision, refusal code and resource code: `hub_access_decisions_total`, as of its next read. */
  countDecision(action: string, decision: string, code: string, resource: string): void {
    let byDecision = this.#decided.get(action);
    if (byDecision === undefined) this.#decided.set(action, (byDecision = new Map()));
    let byCode = byDecision.get(decision);
    if (byCode === undefined) byDecision.set(decision, (byCode = new Map()));
    let byResource = byCode.get(code);
    if (byResource === undefined) byCode.set(code, (byResource = new Map()));
    byResource.set(resource, (byResource.get(resource) ?? 0) + 1);
  }

  #addDecided(): void {
    for (const [action, byDecision] of this.#decided) {
      for (const [decision, byCode] of byDecision) {
        for (const [code, byResource] of byCode) {
          for (const [resource, n] of byResource) this.decisions.inc({ action, decision, code, resource }, n);
        }
      }
    }
    this.#decided.clear();
  }

  readonly upstreamDuration = new Histogram({
    name: 'hub_upstream_request_duration_seconds',
    help: 'Department calls through a connector (retries included), by connector and outcome (ok | error | timeout | circuit_open | cancelled)',
    labelNames: ['connector', 'outcome'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  readonly upstreamErrors = new Counter({
    name: 'hub_upstream_errors_total',
    help: 'Failed department calls, by connector and outcome (error | timeout | circuit_open)',
    labelNames: ['connector', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly upstreamRetries = new Counter({
    name: 'hub_upstream_retries_total',
    help: 'Retries of department calls, by connector',
    labelNames: ['connector'] as const,
    registers: [this.registry],
  });

  readonly upstreamCombined = new Counter({
    name: 'hub_upstream_combined_reads_total',
    help: 'Reads of concurrent requests served by a shared department call (connector collapse), by connector; the shared calls are hub_upstream_combined_calls_total',
    labelNames: ['connector'] as const,
    registers: [this.registry],
  });

  readonly upstreamCombinedCalls = new Counter({
    name: 'hub_upstream_combined_calls_total',
    help: 'Department calls that served the reads of two or more requests (connector collapse), by connector',
    labelNames: ['connector'] as const,
    registers: [this.registry],
  });

  readonly circuitState = new Gauge({
    name: 'hub_upstream_circuit_state',
    help: 'Circuit breaker state per connector: 0 closed, 1 half-open, 2 open',
    labelNames: ['connector'] as const,
    registers: [this.registry],
  });

  readonly auditQueueDepth: Gauge;

  readonly auditBlockRecords = new Histogram({
    name: 'hub_audit_block_records',
    help: 'Records per evidence block written (group-commit batch size)',
    buckets: BLOCK_BUCKETS,
    registers: [this.registry],
  });

  readonly auditCommitDuration = new Histogram({
    name: 'hub_audit_commit_duration_seconds',
    help: 'Latency of one successful evidence write (one ordered insert of one or more blocks)',
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  readonly auditRecordsWritten = new Counter({
    name: 'hub_audit_records_written_total',
    help: 'Access records durably written',
    registers: [this.registry],
  });

  readonly auditFailures = new Counter({
    name: 'hub_audit_failures_total',
    help: 'Failed or late evidence writes and settling attempts (each one is logged); requests affected get no data',
    registers: [this.registry],
  });

  readonly quotaUnits = new Counter({
    name: 'hub_quota_units_total',
    help: 'Daily-quota units (subjects) reserved by this process, by grant id and result (granted | refused)',
    labelNames: ['grant', 'result'] as const,
    registers: [this.registry],
  });

  readonly grantsCacheAge: Gauge;
  readonly tokenCacheAge: Gauge;
  readonly tokenCacheEntries: Gauge;
  readonly eventLoopBusy: Counter;

  /** `scrapeToken`: the bearer token `/metrics` requires (ignored when shorter than MIN_SCRAPE_TOKEN). */
  constructor(sources: MetricSources = {}, options: { readonly processMetrics?: boolean; readonly scrapeToken?: string | undefined } = {}) {
    const registers = [this.registry];
    const token = options.scrapeToken?.trim();
    this.#scrapeDigest = token && token.length >= MIN_SCRAPE_TOKEN ? digest(token) : null;
    this.auditQueueDepth = new Gauge({
      name: 'hub_audit_queue_depth',
      help: 'Access records waiting to be written (queued, not yet in a write)',
      registers,
      collect() { this.set(sources.auditQueueDepth?.() ?? 0); },
    });
    const ageOf = (at: number) => (at > 0 ? (Date.now() - at) / 1000 : 0);
    this.grantsCacheAge = new Gauge({
      name: 'hub_grants_cache_age_seconds',
      help: 'Seconds since the grants in memory were last refreshed from MongoDB',
      registers,
      collect() { this.set(ageOf(sources.grantsRefreshedAt?.() ?? 0)); },
    });
    this.tokenCacheAge = new Gauge({
      name: 'hub_token_cache_age_seconds',
      help: 'Seconds since the token cache was last cleared (no cached look-up is older; entries also expire after auth.cacheSeconds)',
      registers,
      collect() { this.set(ageOf(sources.tokenCacheClearedAt?.() ?? 0)); },
    });
    this.tokenCacheEntries = new Gauge({
      name: 'hub_token_cache_entries',
      help: 'Token look-ups cached',
      registers,
      collect() { this.set(sources.tokenCacheEntries?.() ?? 0); },
    });
    // Its rate is the loop's utilization: near 1 the process is bound by its own CPU (add
    // processes or cores); well below 1 under load its requests are waiting (departments, commits).
    let counted = 0;
    this.eventLoopBusy = new Counter({
      name: 'hub_event_loop_busy_seconds_total',
      help: 'Seconds the process\'s event loop spent running callbacks since the process started; its rate is the loop\'s utilization (0–1)',
      registers,
      collect() {
        const busy = performance.eventLoopUtilization().active / 1000;
        if (busy > counted) {
          this.inc(busy - counted);
          counted = busy;
        }
      },
    });
    if (options.processMetrics !== false) collectDefaultMetrics({ register: this.registry });
  }

  /** Whether a scrape token is configured (else /metrics refuses every scrape). */
  get scrapeConfigured(): boolean {
    return this.#scrapeDigest !== null;
  }

  /** Whether an Authorization header carries the scrape token (constant-time comparison). */
  mayScrape(authorization: string | null): boolean {
    if (!this.#scrapeDigest) return false;
    const given = /^Bearer (.+)$/.exec(authorization ?? '')?.[1];
    return given !== undefined && timingSafeEqual(digest(given), this.#scrapeDigest);
  }

  /** A client-chosen operation name as a label: bounded in form and number. */
  operationLabel(name: string | null | undefined): string {
    if (!name) return 'anonymous';
    if (!OPERATION_NAME.test(name)) return 'other';
    if (this.#operations.has(name)) return name;
    if (this.#operations.size >= MAX_OPERATION_NAMES) return 'other';
    this.#operations.add(name);
    return name;
  }

  /** The Prometheus text exposition. */
  async text(): Promise<string> {
    return this.registry.metrics();
  }
}
