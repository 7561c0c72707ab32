/**
 * The part of autocannon 9's programmatic API the benchmark uses (autocannon ships no types).
 */
declare module 'autocannon' {
  import type { EventEmitter } from 'node:events';

  export interface AutocannonRequest {
    readonly method?: string;
    readonly path?: string;
    readonly headers?: Readonly<Record<string, string>>;
    readonly body?: string;
  }

  export interface AutocannonOptions {
    readonly url: string;
    readonly connections?: number;
    /** Seconds. */
    readonly duration?: number;
    readonly maxOverallRequests?: number;
    readonly pipelining?: number;
    /** Seconds per request. */
    readonly timeout?: number;
    readonly method?: string;
    readonly headers?: Readonly<Record<string, string>>;
    readonly requests?: readonly AutocannonRequest[];
  }

  export interface AutocannonStat {
    readonly average: number;
    readonly mean: number;
    readonly stddev: number;
    readonly min: number;
    readonly max: number;
    readonly total: number;
    readonly p50: number;
    readonly p90: number;
    readonly p99: number;
  }

  export interface AutocannonResult {
    readonly requests: AutocannonStat;
    readonly latency: AutocannonStat;
    readonly throughput: AutocannonStat;
    readonly errors: number;
    readonly timeouts: number;
    readonly non2xx: number;
    readonly duration: number;
    readonly statusCodeStats: Readonly<Record<string, { readonly count: number }>>;
  }

  export interface AutocannonInstance extends EventEmitter {
    stop(): void;
  }

  export default function autocannon(
    options: AutocannonOptions,
    callback: (error: Error | null, result: AutocannonResult) => void,
  ): AutocannonInstance;
}
