/**
 * Hub configuration: one validated file plus environment overrides. A bad config stops start-up
 * with a message naming the field and the rule broken.
 *
 * Environment overrides: MONGODB_URI, MONGODB_DATABASE, HOST, PORT, HUB_SUBJECT_KEY, LOG_LEVEL, REDIS_URL.
 */
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseWorkingHours } from '../audit/anomalies.ts';
import { trustedProxyList } from './identity/client-address.ts';
import { createAjv, readYamlFile, ValidationError, toViolations, type JsonSchema, type Violation } from '../schema/index.ts';

export interface HubConfig {
  /** `drainSeconds`: on SIGTERM / SIGINT, how long in-flight requests may take to finish before their connections are closed. */
  readonly server: {
    readonly host: string; readonly port: number; readonly graphiql: boolean; readonly drainSeconds: number;
    /** Schema introspection and "Did you mean …" suggestions: `off` (default), `admin` (admin tokens only) or `all`. */
    readonly introspection: 'off' | 'admin' | 'all';
    /** A client must send its header section within this, and its whole request within `requestTimeoutSeconds` (slowloris): else 408. */
    readonly headersTimeoutSeconds: number;
    readonly requestTimeoutSeconds: number;
    /**
     * Load balancers in front of the hub (addresses or CIDR ranges): behind them the client address is
     * taken from X-Forwarded-For (gateway/identity/client-address.ts). Empty: the TCP peer's.
     */
    readonly trustedProxies: readonly string[];
    /** HTTPS, and mutual TLS when `clientCaFile` is set (gateway/identity/tls.ts). Files are re-read on SIGHUP. */
    readonly tls?: TlsConfig;
  };
  readonly mongodb: { readonly uri: string; readonly database: string; readonly timeoutMs: number };
  /** Catalogue directory, absolute after loading. */
  readonly catalogue: string;
  /** HMAC key for subject hashes in the audit trail: a file holding it, or an env variable. */
  readonly subjectKey: { readonly file?: string; readonly env?: string };
  readonly limits: {
    readonly maxBatch: number;
    readonly maxDepth: number;
    readonly maxAliases: number;
    readonly maxTokens: number;
    readonly maxBodyBytes: number;
    /**
     * Every department call of one request (retries and backoffs included) ends within this many
     * milliseconds of the request's authentication; a field still waiting then is UPSTREAM_TIMEOUT.
     */
    readonly upstreamDeadlineMs: number;
    /** Most estimated cost of one operation (gateway/limits/cost.ts); over it: QUERY_TOO_COMPLEX before execution. */
    readonly maxCost: number;
    readonly rate: RateLimitConfig;
  };
  /** Trusted documents: systems may send only the operations registered for them (gateway/limits/trustedDocuments.ts). */
  readonly trustedDocuments: { readonly mode: 'off' | 'log' | 'enforce'; readonly file?: string };
  readonly audit: {
    readonly maxBatch: number;
    /** Blocks per write: writes go out one at a time, in sequence order, so a crash leaves a gap-free log. */
    readonly maxInFlight: number;
    /** How long a block may wait for more records before its write (ms; 0: none). */
    readonly lingerMs: number;
    /** `auto`: majority + journal on a replica set or sharded cluster, w 1 + journal on a standalone (audit/durability.ts). */
    readonly writeConcern: 'auto' | 'majority' | 1;
    readonly deadlineMs: number;
    /** Ed25519 key that signs checkpoints: a file holding it, or an env variable. Never in MongoDB. */
    readonly signingKey: { readonly file?: string; readonly env?: string };
    /** The signer's name in checkpoints and in the verifier key; logs are named `<keyName>/<host>/<start>`. */
    readonly keyName: string;
    readonly checkpointRecords: number;
    readonly checkpointSeconds: number;
    /**
     * A log whose process gave no sign of life for this long, and was not closed, is signed up to
     * its durable end by another hub (audit/adopt.ts). Several checkpoint intervals at least.
     */
    readonly adoptAfterSeconds: number;
    /**
     * Every this many seconds a hub brings the stored tree of its own log (audit/tree.ts) up to its
     * records, so that an auditor's proof need not read the log first; 0: proofs fill it when they
     * need it. Absent: 60 on MongoDB, 0 on FerretDB (which scans the whole trail for the log's new
     * blocks at every fill).
     */
    readonly treeFillSeconds?: number;
    /** Records are kept this many days (3 years is the floor), then archived to a verifiable export and removed. */
    readonly retentionDays: number;
    /** Thresholds of the anomaly flags auditors see (auditAnomalies). */
    readonly anomalies: {
      /** Flag a grant's daily volume above `volumeFactor` × its expected daily volume. */
      readonly volumeFactor: number;
      /** Working hours (HH:MM-HH:MM, deployment time zone) on working days; access outside them is flagged. */
      readonly workingHours: string;
      /** Flag a system or operator refused at least this many times in one day. */
      readonly refusalsPerDay: number;
      /** Flag a subject read under at least this many unrelated purposes within `purposeWindowDays`. */
      readonly unrelatedPurposes: number;
      readonly purposeWindowDays: number;
    };
  };
  /** Full reload of grants and catalogue even without a signalled change (catches edits made outside the hub). */
  readonly grants: { readonly refreshSeconds: number };
  /** How often each instance checks the shared revision counter: changes apply on every instance within about this long. */
  readonly sync: { readonly pollMilliseconds: number };
  /** The deployment's time zone: grant periods, daily quotas and deadlines follow its calendar days. */
  readonly timeZone: string;
  /** Sharing applications (共享申请): the provider's response deadline in working days, and the working-day calendar. */
  readonly applications: { readonly deadlineWorkingDays: number; readonly calendar: string };
  /** How long a token lookup is cached; a revoked token works at most this long. 0 = no cache. */
  readonly auth: {
    readonly cacheSeconds: number;
    /** Client certificates bound to systems (catalogue `systems[].certificates`). */
    readonly certificates: {
      /** A request with a bound certificate must also carry a bearer token of the same system. */
      readonly alsoRequireToken: boolean;
    };
    /** JWTs issued by departments' identity providers, verified against their JWKS (gateway/identity/jwt.ts). */
    readonly jwt: { readonly issuers: readonly JwtIssuerConfig[] };
  };
  /** Data-quality counters: each process writes its in-memory counts this often (and when it closes). */
  readonly quality: { readonly flushSeconds: number };
  /**
   * Correction requests (数据纠错): the provider's answer deadline in working days (the applications'
   * calendar), and how far back the access trail must show the disputed value served to the requester.
   */
  readonly corrections: { readonly deadlineWorkingDays: number; readonly servedWithinDays: number };
  readonly log: { readonly level: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent' };
  /**
   * Prometheus metrics at `GET /metrics`. Scraping needs `Authorization: Bearer <token>` with the
   * token read from the environment variable `tokenEnv`; while that variable is unset (or shorter
   * than 16 characters), /metrics refuses every scrape.
   */
  readonly metrics: { readonly enabled: boolean; readonly tokenEnv: string };
  /** OpenTelemetry traces to an OTLP/HTTP collector; off by default (gateway/observability/tracing.ts). */
  readonly tracing: { readonly enabled: boolean; readonly endpoint: string; readonly serviceName: string; readonly sampleRatio: number };
  /** The web console under /console (gateway/console/): sessions end after `idleMinutes` unused or `absoluteHours` after log-in. */
  readonly console: { readonly enabled: boolean; readonly idleMinutes: number; readonly absoluteHours: number };
  /** Directory the config file lives in; relative paths in the catalogue resolve against the catalogue. */
  readonly baseDir: string;
}

export interface TlsConfig {
  readonly certFile: string;
  readonly keyFile: string;
  /** CA certificates (PEM) that issue department systems' client certificates; without it no client certificate is asked for. */
  readonly clientCaFile?: string;
  /** `optional`: a client may present a certificate (else it uses a token); `required`: the TLS handshake fails without one. */
  readonly clientCertificates: 'optional' | 'required';
}

/** One department identity provider whose JWTs identify that department's systems. */
export interface JwtIssuerConfig {
  /** The `iss` claim, exactly. */
  readonly issuer: string;
  /** The department whose systems this issuer speaks for: a token naming another department's system is refused. */
  readonly department: string;
  /** Where its JSON Web Key Set is: fetched over HTTP(S) (cached; re-fetched for an unknown key id) … */
  readonly jwksUri?: string;
  /** … or read from a file (re-read on SIGHUP). */
  readonly jwksFile?: string;
  /** The `aud` the token must name (the hub's own identifier at that issuer). */
  readonly audience: string;
  /** The claim holding the system code (default `sub`; `azp` or `client_id` for client-credential tokens). */
  readonly systemClaim: string;
  readonly algorithms: readonly string[];
  /** Allowed clock difference for `exp`, `nbf` and `iat`. */
  readonly clockToleranceSeconds: number;
  /** Tokens living longer than this (from `iat` to `exp`) are refused; `exp` and `iat` are required. */
  readonly maxLifetimeSeconds: number;
  /** Deadline of one JWKS fetch. */
  readonly jwksTimeoutMs: number;
  /** At most one re-fetch for an unknown key id per this many seconds (a key rotation is picked up after it). */
  readonly jwksCooldownSeconds: number;
}

/** A window of `points` requests per `durationSeconds`, counted across instances by the store. */
export interface RateWindow { readonly points: number; readonly durationSeconds: number }

export interface RateLimitConfig {
  /** `memory` counts per instance; `redis` (exact, atomic) and `mongodb` (exact on MongoDB, not on FerretDB 1.x) count across instances. */
  readonly store: 'memory' | 'redis' | 'mongodb';
  readonly redisUrl?: string;
  readonly keyPrefix: string;
  /** Every limiter call ends within this; past it (or on a store error) `onStoreFailure` applies. */
  readonly deadlineMs: number;
  /** `local`: count in this instance's memory until the store answers again; `refuse`: RATE_LIMIT_UNAVAILABLE (503). */
  readonly onStoreFailure: 'local' | 'refuse';
  readonly perSystem?: RateWindow;
  readonly perToken?: RateWindow;
  /** Failed authentications per client address; when spent, the address is refused before any token lookup. */
  readonly failedAuth: RateWindow;
}

const rateWindowSchema: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['points', 'durationSeconds'],
  properties: {
    points: { type: 'integer', minimum: 1, maximum: 100000000 },
    durationSeconds: { type: 'integer', minimum: 1, maximum: 86400 },
  },
};

export const configSchema: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['mongodb', 'catalogue'],
  properties: {
    server: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        host: { type: 'string', minLength: 1, default: '127.0.0.1' },
        port: { type: 'integer', minimum: 0, maximum: 65535, default: 4000 },
        graphiql: { type: 'boolean', default: false },
        introspection: { enum: ['off', 'admin', 'all'], default: 'off' },
        drainSeconds: { type: 'number', minimum: 0, maximum: 600, default: 10 },
        headersTimeoutSeconds: { type: 'number', minimum: 1, maximum: 300, default: 10 },
        requestTimeoutSeconds: { type: 'number', minimum: 1, maximum: 600, default: 20 },
        trustedProxies: { type: 'array', maxItems: 100, uniqueItems: true, default: [], items: { type: 'string', minLength: 2, maxLength: 50 } },
        tls: {
          type: 'object',
          additionalProperties: false,
          required: ['certFile', 'keyFile'],
          properties: {
            certFile: { type: 'string', minLength: 1 },
            keyFile: { type: 'string', minLength: 1 },
            clientCaFile: { type: 'string', minLength: 1 },
            clientCertificates: { enum: ['optional', 'required'], default: 'optional' },
          },
        },
      },
    },
    mongodb: {
      type: 'object',
      additionalProperties: false,
      required: ['uri'],
      properties: {
        uri: { type: 'string', pattern: '^mongodb(\\+srv)?://' },
        database: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,63}$', default: 'hub' },
        timeoutMs: { type: 'integer', minimum: 100, maximum: 120000, default: 10000 },
      },
    },
    catalogue: { type: 'string', minLength: 1 },
    subjectKey: {
      type: 'object',
      additionalProperties: false,
      default: { env: 'HUB_SUBJECT_KEY' },
      minProperties: 1,
      maxProperties: 1,
      properties: { file: { type: 'string', minLength: 1 }, env: { type: 'string', pattern: '^[A-Z_][A-Z0-9_]*$' } },
    },
    limits: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        maxBatch: { type: 'integer', minimum: 1, maximum: 10000, default: 100 },
        maxDepth: { type: 'integer', minimum: 2, maximum: 50, default: 8 },
        maxAliases: { type: 'integer', minimum: 1, maximum: 1000, default: 30 },
        maxTokens: { type: 'integer', minimum: 100, maximum: 100000, default: 5000 },
        maxBodyBytes: { type: 'integer', minimum: 1024, maximum: 104857600, default: 1048576 },
        upstreamDeadlineMs: { type: 'integer', minimum: 100, maximum: 600000, default: 10000 },
        maxCost: { type: 'integer', minimum: 1, maximum: 10000000, default: 5000 },
        rate: {
          type: 'object',
          additionalProperties: false,
          default: {},
          properties: {
            store: { enum: ['memory', 'redis', 'mongodb'], default: 'memory' },
            redisUrl: { type: 'string', pattern: '^rediss?://' },
            keyPrefix: { type: 'string', pattern: '^[A-Za-z0-9._:-]{1,64}$', default: 'yiwang-hub' },
            deadlineMs: { type: 'integer', minimum: 10, maximum: 10000, default: 250 },
            onStoreFailure: { enum: ['local', 'refuse'], default: 'local' },
            perSystem: rateWindowSchema,
            perToken: rateWindowSchema,
            failedAuth: { ...rateWindowSchema, default: { points: 20, durationSeconds: 60 } },
          },
        },
      },
    },
    trustedDocuments: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        mode: { enum: ['off', 'log', 'enforce'], default: 'off' },
        file: { type: 'string', minLength: 1 },
      },
    },
    audit: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        maxBatch: { type: 'integer', minimum: 1, maximum: 100000, default: 1024 },
        maxInFlight: { type: 'integer', minimum: 1, maximum: 64, default: 2 },
        lingerMs: { type: 'number', minimum: 0, maximum: 50, default: 0 },
        writeConcern: { enum: ['auto', 'majority', 1], default: 'auto' },
        deadlineMs: { type: 'integer', minimum: 100, maximum: 60000, default: 2000 },
        signingKey: {
          type: 'object',
          additionalProperties: false,
          default: { env: 'HUB_AUDIT_KEY' },
          minProperties: 1,
          maxProperties: 1,
          properties: { file: { type: 'string', minLength: 1 }, env: { type: 'string', pattern: '^[A-Z_][A-Z0-9_]*$' } },
        },
        keyName: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$', default: 'yiwang-hub' },
        checkpointRecords: { type: 'integer', minimum: 1, maximum: 10000000, default: 10000 },
        checkpointSeconds: { type: 'number', minimum: 0.1, maximum: 86400, default: 10 },
        // Default: 300, or 3 checkpoint intervals when those are longer (parseConfig).
        adoptAfterSeconds: { type: 'number', minimum: 1, maximum: 604800 },
        // Default: 60 on MongoDB, 0 (on demand) on FerretDB (the runtime sees the server).
        treeFillSeconds: { type: 'number', minimum: 0, maximum: 86400 },
        retentionDays: { type: 'integer', minimum: 1096, maximum: 36600, default: 1096 },
        anomalies: {
          type: 'object',
          additionalProperties: false,
          default: {},
          properties: {
            volumeFactor: { type: 'number', exclusiveMinimum: 1, maximum: 1000, default: 3 },
            workingHours: { type: 'string', pattern: '^([01][0-9]|2[0-3]):[0-5][0-9]-([01][0-9]|2[0-4]):[0-5][0-9]$', default: '08:30-18:00' },
            refusalsPerDay: { type: 'integer', minimum: 2, maximum: 100000, default: 10 },
            unrelatedPurposes: { type: 'integer', minimum: 2, maximum: 100, default: 3 },
            purposeWindowDays: { type: 'integer', minimum: 1, maximum: 366, default: 30 },
          },
        },
      },
    },
    grants: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: { refreshSeconds: { type: 'number', minimum: 0.1, maximum: 3600, default: 60 } },
    },
    sync: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: { pollMilliseconds: { type: 'integer', minimum: 50, maximum: 60000, default: 500 } },
    },
    timeZone: { type: 'string', minLength: 1, default: 'Asia/Shanghai' },
    applications: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        deadlineWorkingDays: { type: 'integer', minimum: 1, maximum: 60, default: 10 },
        calendar: { type: 'string', minLength: 1 },
      },
    },
    auth: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        cacheSeconds: { type: 'number', minimum: 0, maximum: 300, default: 10 },
        certificates: {
          type: 'object',
          additionalProperties: false,
          default: {},
          properties: { alsoRequireToken: { type: 'boolean', default: false } },
        },
        jwt: {
          type: 'object',
          additionalProperties: false,
          default: {},
          properties: {
            issuers: {
              type: 'array',
              default: [],
              maxItems: 100,
              items: {
                type: 'object',
                additionalProperties: false,
                required: ['issuer', 'department', 'audience'],
                properties: {
                  issuer: { type: 'string', minLength: 1, maxLength: 500 },
                  department: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$' },
                  jwksUri: { type: 'string', pattern: '^https?://' },
                  jwksFile: { type: 'string', minLength: 1 },
                  audience: { type: 'string', minLength: 1, maxLength: 500 },
                  systemClaim: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]{0,63}$', default: 'sub' },
                  algorithms: {
                    type: 'array',
                    minItems: 1,
                    uniqueItems: true,
                    items: { enum: ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'] },
                    default: ['RS256', 'PS256', 'ES256', 'EdDSA', 'Ed25519'],
                  },
                  clockToleranceSeconds: { type: 'integer', minimum: 0, maximum: 300, default: 30 },
                  maxLifetimeSeconds: { type: 'integer', minimum: 60, maximum: 86400, default: 3600 },
                  jwksTimeoutMs: { type: 'integer', minimum: 100, maximum: 30000, default: 2000 },
                  jwksCooldownSeconds: { type: 'number', minimum: 0, maximum: 3600, default: 30 },
                },
              },
            },
          },
        },
      },
    },
    quality: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: { flushSeconds: { type: 'number', minimum: 0.1, maximum: 3600, default: 10 } },
    },
    corrections: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        deadlineWorkingDays: { type: 'integer', minimum: 1, maximum: 60, default: 5 },
        servedWithinDays: { type: 'integer', minimum: 1, maximum: 1096, default: 90 },
      },
    },
    log: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: { level: { enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], default: 'info' } },
    },
    metrics: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        enabled: { type: 'boolean', default: true },
        tokenEnv: { type: 'string', pattern: '^[A-Z_][A-Z0-9_]*$', default: 'HUB_METRICS_TOKEN' },
      },
    },
    console: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        enabled: { type: 'boolean', default: true },
        idleMinutes: { type: 'integer', minimum: 1, maximum: 1440, default: 30 },
        absoluteHours: { type: 'integer', minimum: 1, maximum: 168, default: 8 },
      },
    },
    tracing: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        enabled: { type: 'boolean', default: false },
        endpoint: { type: 'string', pattern: '^https?://', default: 'http://127.0.0.1:4318/v1/traces' },
        serviceName: { type: 'string', minLength: 1, maxLength: 100, default: 'yiwang-hub' },
        sampleRatio: { type: 'number', minimum: 0, maximum: 1, default: 1 },
      },
    },
  },
};

const validate = createAjv().compile(configSchema);

/** The working-day calendar shipped with the hub (public holidays and 调休 working days). */
export const DEFAULT_CALENDAR = fileURLToPath(new URL('../config/calendar.yaml', import.meta.url));

function validTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-CA', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

function parsePort(raw: string, where: string): number {
  if (!/^[0-9]{1,5}$/.test(raw) || Number(raw) > 65535) {
    throw new ValidationError([{ where, path: '', rule: 'port', message: `must be a port number 0-65535, got "${raw}"` }]);
  }
  return Number(raw);
}

/** Applies environment overrides to a parsed config object (before validation). */
export function applyEnv(raw: Record<string, unknown>, env: NodeJS.ProcessEnv): Record<string, unknown> {
  const out = structuredClone(raw);
  const section = (name: string) => {
    const s = out[name];
    if (s !== undefined && (typeof s !== 'object' || s === null || Array.isArray(s))) return undefined; // left for validation to name
    out[name] = s ?? {};
    return out[name] as Record<string, unknown>;
  };
  if (env['MONGODB_URI']) { const s = section('mongodb'); if (s) s['uri'] = env['MONGODB_URI']; }
  if (env['MONGODB_DATABASE']) { const s = section('mongodb'); if (s) s['database'] = env['MONGODB_DATABASE']; }
  if (env['HOST']) { const s = section('server'); if (s) s['host'] = env['HOST']; }
  if (env['PORT']) { const s = section('server'); if (s) s['port'] = parsePort(env['PORT'], 'environment PORT'); }
  if (env['LOG_LEVEL']) { const s = section('log'); if (s) s['level'] = env['LOG_LEVEL']; }
  if (env['REDIS_URL']) {
    const limits = section('limits');
    const rate = limits?.['rate'] ?? {};
    if (limits && typeof rate === 'object' && rate !== null && !Array.isArray(rate)) limits['rate'] = { ...rate, redisUrl: env['REDIS_URL'] };
  }
  return out;
}

/** Validates a config object; relative paths are resolved against `baseDir`. */
export function parseConfig(raw: unknown, where: string, baseDir: string, env: NodeJS.ProcessEnv = process.env): HubConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ValidationError([{ where, path: '', rule: 'type', message: 'must be a mapping (YAML object)' }]);
  }
  const data = applyEnv(raw as Record<string, unknown>, env);
  if (!validate(data)) {
    const zone = (data as { timeZone?: unknown }).timeZone;
    const zoneProblem = typeof zone === 'string' && !validTimeZone(zone) ? [{ where, path: '/timeZone', rule: 'timeZone', message: `"${zone}" is not an IANA time zone (e.g. Asia/Shanghai)` }] : [];
    throw new ValidationError([...toViolations(where, validate.errors), ...zoneProblem]);
  }
  const config = data as unknown as Omit<HubConfig, 'baseDir' | 'applications'> & { applications: { deadlineWorkingDays: number; calendar?: string } };
  const problems: Violation[] = []; // every one named at once, as the schema's
  if (!validTimeZone(config.timeZone)) {
    problems.push({ where, path: '/timeZone', rule: 'timeZone', message: `"${config.timeZone}" is not an IANA time zone (e.g. Asia/Shanghai)` });
  }
  if (config.limits.rate.store === 'redis' && !config.limits.rate.redisUrl) {
    throw new ValidationError([{ where, path: '/limits/rate/redisUrl', rule: 'required', message: 'is required when limits.rate.store is redis (or set REDIS_URL)' }]);
  }
  if (config.trustedDocuments.mode !== 'off' && !config.trustedDocuments.file) {
    throw new ValidationError([{ where, path: '/trustedDocuments/file', rule: 'required', message: `is required when trustedDocuments.mode is ${config.trustedDocuments.mode}` }]);
  }
  const adoptAfterSeconds = config.audit.adoptAfterSeconds ?? Math.max(300, 3 * config.audit.checkpointSeconds);
  if (adoptAfterSeconds < 3 * config.audit.checkpointSeconds) {
    // A live hub beats once a checkpoint interval: any shorter and its log would be taken for a stopped one's.
    problems.push({ where, path: '/audit/adoptAfterSeconds', rule: 'minimum', message: `must be at least 3 × audit.checkpointSeconds (${3 * config.audit.checkpointSeconds})` });
  }
  if (config.server.requestTimeoutSeconds < config.server.headersTimeoutSeconds) {
    problems.push({ where, path: '/server/requestTimeoutSeconds', rule: 'minimum', message: `must be at least server.headersTimeoutSeconds (${config.server.headersTimeoutSeconds})` });
  }
  try {
    trustedProxyList(config.server.trustedProxies);
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    problems.push(...error.violations.map((v) => ({ ...v, where })));
  }
  const tls = config.server.tls;
  if (tls && tls.clientCertificates === 'required' && !tls.clientCaFile) {
    problems.push({ where, path: '/server/tls/clientCaFile', rule: 'required', message: 'is required when server.tls.clientCertificates is required: the CA that issues the systems\' client certificates' });
  }
  config.auth.jwt.issuers.forEach((issuer, i) => {
    if ((issuer.jwksUri === undefined) === (issuer.jwksFile === undefined)) {
      problems.push({ where, path: `/auth/jwt/issuers/${i}`, rule: 'oneOf', message: 'needs exactly one of jwksUri (the issuer\'s key set URL) or jwksFile' });
    }
    if (config.auth.jwt.issuers.findIndex((other) => other.issuer === issuer.issuer) !== i) {
      problems.push({ where, path: `/auth/jwt/issuers/${i}/issuer`, rule: 'unique', message: `issuer "${issuer.issuer}" is configured twice` });
    }
  });
  try {
    parseWorkingHours(config.audit.anomalies.workingHours);
  } catch (error) {
    problems.push({ where, path: '/audit/anomalies/workingHours', rule: 'workingHours', message: (error as Error).message });
  }
  if (problems.length > 0) throw new ValidationError(problems);
  return {
    ...config,
    applications: {
      deadlineWorkingDays: config.applications.deadlineWorkingDays,
      calendar: config.applications.calendar ? resolve(baseDir, config.applications.calendar) : DEFAULT_CALENDAR,
    },
    catalogue: resolve(baseDir, config.catalogue),
    server: config.server.tls ? { ...config.server, tls: resolveTls(config.server.tls, baseDir) } : config.server,
    auth: { ...config.auth, jwt: { issuers: config.auth.jwt.issuers.map((i) => (i.jwksFile ? { ...i, jwksFile: resolve(baseDir, i.jwksFile) } : i)) } },
    trustedDocuments: config.trustedDocuments.file ? { ...config.trustedDocuments, file: resolve(baseDir, config.trustedDocuments.file) } : config.trustedDocuments,
    subjectKey: config.subjectKey.file ? { file: resolve(baseDir, config.subjectKey.file) } : config.subjectKey,
    audit: { ...config.audit, adoptAfterSeconds, signingKey: config.audit.signingKey.file ? { file: resolve(baseDir, config.audit.signingKey.file) } : config.audit.signingKey },
    baseDir,
  };
}

function resolveTls(tls: TlsConfig, baseDir: string): TlsConfig {
  return {
    ...tls,
    certFile: resolve(baseDir, tls.certFile),
    keyFile: resolve(baseDir, tls.keyFile),
    ...(tls.clientCaFile ? { clientCaFile: resolve(baseDir, tls.clientCaFile) } : {}),
  };
}

export async function loadConfig(path: string, env: NodeJS.ProcessEnv = process.env): Promise<HubConfig> {
  const absolute = resolve(path);
  return parseConfig(await readYamlFile(absolute, path), path, dirname(absolute), env);
}

/** Reads the subject-hash key: at least 32 bytes, given as hex or base64. */
export async function readSubjectKey(config: HubConfig, env: NodeJS.ProcessEnv = process.env): Promise<Buffer> {
  let raw: string | undefined;
  let where: string;
  if (config.subjectKey.file) {
    where = config.subjectKey.file;
    raw = await readFile(config.subjectKey.file, 'utf8').catch(() => undefined);
    if (raw === undefined) throw new ValidationError([{ where: 'config', path: '/subjectKey/file', rule: 'readable', message: `cannot read ${where}` }]);
  } else {
    const name = env['HUB_SUBJECT_KEY'] !== undefined ? 'HUB_SUBJECT_KEY' : config.subjectKey.env ?? 'HUB_SUBJECT_KEY';
    where = `environment ${name}`;
    raw = env[name];
    if (!raw) throw new ValidationError([{ where, path: '', rule: 'required', message: 'is not set: the audit trail needs a subject-hash key (32+ random bytes, hex or base64; `hub key create` makes one)' }]);
  }
  const text = raw.trim();
  const key = /^[0-9a-fA-F]+$/.test(text) && text.length % 2 === 0 ? Buffer.from(text, 'hex') : Buffer.from(text, 'base64');
  if (key.length < 32) throw new ValidationError([{ where, path: '', rule: 'minLength', message: 'must hold at least 32 bytes (64 hex characters)' }]);
  return key;
}

/** Reads the Ed25519 checkpoint-signing key text (`hub key create --signing` makes one). */
export async function readSigningKey(config: HubConfig, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const { file, env: name } = config.audit.signingKey;
  if (file) {
    const text = await readFile(file, 'utf8').catch(() => undefined);
    if (text === undefined) throw new ValidationError([{ where: 'config', path: '/audit/signingKey/file', rule: 'readable', message: `cannot read ${file}` }]);
    return text;
  }
  const variable = name ?? 'HUB_AUDIT_KEY';
  const text = env[variable];
  if (!text) {
    throw new ValidationError([{ where: `environment ${variable}`, path: '', rule: 'required', message: 'is not set: the audit trail needs an Ed25519 key to sign its checkpoints (`hub key create --signing` makes one)' }]);
  }
  return text;
}
