/**
 * One bounded load run, as the orchestrator asks for it and as the load generator reports it.
 */

export interface LoadSpec {
  readonly url: string;
  /** Request bodies, sent in rotation on every connection. */
  readonly bodies: readonly string[];
  readonly headers: Readonly<Record<string, string>>;
  readonly connections: number;
  readonly seconds: number;
  /** Hard cap of requests in this run. */
  readonly maxRequests: number;
}

export interface LoadResult {
  readonly requests: number;
  readonly seconds: number;
  readonly rps: number;
  /** Latencies in milliseconds (hrtime resolution, all responses). */
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  readonly meanMs: number;
  readonly errors: number;
  readonly timeouts: number;
  readonly non2xx: number;
  readonly statusCodes: Readonly<Record<string, number>>;
  readonly bytesPerResponse: number;
  /** CPU time the load generator itself used during the run (user + system), µs. */
  readonly cpuMicros: number;
}
