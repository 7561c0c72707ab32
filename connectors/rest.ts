/**
 * REST connector (kind `rest`): a department's HTTP service (部门接口).
 *
 * ## The hub's batch-lookup protocol (批量查询协议)
 *
 * The hub asks for many subjects in one call and names the information items (信息项) it needs:
 *
 *     POST {baseUrl}{path}
 *     Content-Type: application/json
 *     Accept: application/json
 *     Authorization: Bearer <token>        (only when the connector sets `bearerTokenEnv`)
 *
 *     {"keyField": "idNumber", "keys": ["440106199001011235", "…"], "items": ["name", "address"]}
 *
 * - `path` defaults to `/{dataset}/batch-lookup`; `{dataset}` is replaced by the resource's
 *   dataset name, URL-encoded. A path prefix in `baseUrl` is kept (`https://h/api` + `/x/batch-lookup`).
 * - `keys` are distinct; the hub splits more than `maxKeysPerCall` keys into several concurrent calls.
 * - `items` are the only fields the hub needs; the department should return no others. The hub
 *   drops any field that is neither an asked item nor `keyField` before anything else sees it.
 *
 * The department answers `200` (any 2xx) with a JSON object holding only the records it found:
 *
 *     {"records": [{"idNumber": "440106199001011235", "name": "张三", "address": "…"}]}
 *
 * - Records are matched back to keys by their `keyField` value, so their order does not matter.
 *   A key with no record is "not found" (the hub answers `null` for it). A record for a key that
 *   was not asked in that call is dropped. Two records for one key that differ in an asked item
 *   are a conflict: neither is served for that key (UPSTREAM_INVALID); identical copies count once.
 * - Anything else is a failure of the department system and fails the whole batch: a network
 *   error, no answer within `timeoutMs` (UpstreamTimeoutError, also when the body stalls half-way),
 *   a non-2xx status, a body that is not JSON, or JSON not shaped `{"records": [object, …]}`.
 *   A 4xx other than 408, 425 and 429 is not transient (retrying cannot help); the rest may be
 *   retried by the resilience layer (resilience.ts).
 *
 * Health check: `GET {baseUrl}` with a short timeout. Any HTTP answer below 500 (even 404) means
 * the service is reachable; a 5xx answer or no answer means it is not.
 *
 * Secrets never live in config files: the bearer token is read from the environment variable
 * that `bearerTokenEnv` names, on every call (so a rotated token is picked up).
 */
import { Pool } from 'undici';
import {
  answerInOrder, distinctKeys, fetchInChunks, isRecord, returnedFields, throwIfCallerAborted,
} from './batch.ts';
import type {
  ConfigSchema, Connector, ConnectorContext, ConnectorFactory, FetchRequest, HealthStatus, UpstreamRecord,
} from './types.ts';
import { UpstreamError, UpstreamTimeoutError } from './types.ts';

export interface RestConnectorConfig {
  /** `http://` or `https://` URL of the service, optionally with a path prefix; no query or fragment. */
  readonly baseUrl: string;
  /** Path template appended to the base URL; `{dataset}` is replaced by the URL-encoded dataset. */
  readonly path: string;
  readonly timeoutMs: number;
  readonly headers: Readonly<Record<string, string>>;
  /** Name of the environment variable holding the bearer token. */
  readonly bearerTokenEnv?: string;
  readonly maxKeysPerCall: number;
}

export const DEFAULT_REST_PATH = '/{dataset}/batch-lookup';
const DEFAULT_TIMEOUT_MS = 5000;
const DEFAULT_MAX_KEYS = 500;
/** The health check never waits longer than this, whatever `timeoutMs` says. */
const HEALTH_TIMEOUT_MS = 2000;
/** Upper bound of sockets one connector keeps open to its department service. */
const MAX_CONNECTIONS = 32;
/** A larger answer is a failure (`UND_ERR_RES_EXCEEDED_MAX_SIZE`), not a reason to exhaust memory. */
const MAX_RESPONSE_BYTES = 256 * 1024 * 1024;

export const restConfigSchema: ConfigSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['baseUrl'],
  properties: {
    baseUrl: {
      type: 'string',
      format: 'uri',
      pattern: '^https?://[^/?#]+(/[^?#]*)?$',
      description: 'http(s) URL of the department service, optionally with a path prefix; no query or fragment',
    },
    path: {
      type: 'string',
      pattern: '^/',
      description: 'path template after baseUrl; {dataset} is replaced by the URL-encoded dataset (default /{dataset}/batch-lookup)',
    },
    timeoutMs: { type: 'integer', minimum: 1, maximum: 600_000, default: DEFAULT_TIMEOUT_MS },
    headers: {
      type: 'object',
      description: 'extra request headers; never secrets (use bearerTokenEnv)',
      propertyNames: { pattern: "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$" },
      additionalProperties: { type: 'string' },
    },
    bearerTokenEnv: {
      type: 'string',
      pattern: '^[A-Za-z_][A-Za-z0-9_]*$',
      description: 'name of the environment variable holding the bearer token',
    },
    maxKeysPerCall: { type: 'integer', minimum: 1, maximum: 100_000, default: DEFAULT_MAX_KEYS },
  },
};

/** Reads an already validated config, applying defaults again for callers that skip the registry. */
function readConfig(config: Record<string, unknown>): RestConnectorConfig {
  const headers = (config['headers'] ?? {}) as Record<string, string>;
  const bearerTokenEnv = config['bearerTokenEnv'] as string | undefined;
  return {
    baseUrl: String(config['baseUrl']),
    path: (config['path'] as string | undefined) ?? DEFAULT_REST_PATH,
    timeoutMs: (config['timeoutMs'] as number | undefined) ?? DEFAULT_TIMEOUT_MS,
    headers,
    maxKeysPerCall: (config['maxKeysPerCall'] as number | undefined) ?? DEFAULT_MAX_KEYS,
    ...(bearerTokenEnv === undefined ? {} : { bearerTokenEnv }),
  };
}

/** 4xx answers that may pass when asked again (timeout, too early, too many requests). */
const TRANSIENT_4XX = new Set([408, 425, 429]);

/** A short, data-free description of a network error: its code, else its class name. */
function describeNetworkError(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as Error & { code?: unknown }).code;
    return typeof code === 'string' ? code : error.name;
  }
  return 'unknown error';
}

export class RestConnector implements Connector {
  readonly name: string;
  readonly kind = 'rest';
  readonly #config: RestConnectorConfig;
  readonly #env: NodeJS.ProcessEnv;
  readonly #pool: Pool;
  readonly #basePath: string;
  readonly #extraHeaders: Record<string, string>;
  #closing: Promise<void> | undefined;

  constructor(name: string, config: RestConnectorConfig, env: NodeJS.ProcessEnv = process.env) {
    this.name = name;
    this.#config = config;
    this.#env = env;
    const url = new URL(config.baseUrl);
    this.#basePath = url.pathname.replace(/\/+$/, '');
    this.#extraHeaders = Object.fromEntries(
      Object.entries(config.headers).map(([k, v]) => [k.toLowerCase(), v]),
    );
    this.#pool = new Pool(url.origin, {
      connections: MAX_CONNECTIONS,
      keepAliveTimeout: 30_000,
      maxResponseSize: MAX_RESPONSE_BYTES,
      connect: { timeout: config.timeoutMs },
    });
  }

  /** The request path for a dataset, with the base URL's path prefix. */
  lookupPath(dataset: string): string {
    return this.#basePath + this.#config.path.replaceAll('{dataset}', encodeURIComponent(dataset));
  }

  async fetchMany(request: FetchRequest): Promise<Array<UpstreamRecord | null>> {
    throwIfCallerAborted(request.signal);
    if (this.#closing) throw new UpstreamError(this.name, `rest connector "${this.name}" is closed`);
    const keys = distinctKeys(request.keys);
    if (keys.length === 0) return [];

    const path = this.lookupPath(request.dataset);
    const what = `rest connector "${this.name}": POST ${path}`;
    const headers = this.#lookupHeaders();
    const items = returnedFields(request).filter((f) => f !== request.keyField);
    // One deadline for the whole batch; a failing chunk aborts its siblings; so does the caller.
    // A plain controller and timer: AbortSignal.timeout + AbortSignal.any cost several times more.
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, this.#config.timeoutMs);
    const onCallerAbort = () => controller.abort();
    request.signal?.addEventListener('abort', onCallerAbort, { once: true });

    let found: Map<string, UpstreamRecord>;
    try {
      found = await fetchInChunks(keys, this.#config.maxKeysPerCall, request.keyField, (part) =>
        this.#post(path, what, headers, JSON.stringify({ keyField: request.keyField, keys: part, items }), controller.signal));
    } catch (error) {
      controller.abort();
      if (request.signal?.aborted) throw request.signal.reason;
      if (error instanceof UpstreamError) throw error;
      if (timedOut) {
        throw new UpstreamTimeoutError(this.name, `${what} timed out after ${this.#config.timeoutMs} ms`);
      }
      throw new UpstreamError(this.name, `${what} failed: ${describeNetworkError(error)}`, { cause: error });
    } finally {
      clearTimeout(timer);
      request.signal?.removeEventListener('abort', onCallerAbort);
    }
    return answerInOrder(request, found, this.name);
  }

  /** One lookup call. Throws UpstreamError for a bad answer; network and abort errors pass through. */
  async #post(
    path: string, what: string, headers: Record<string, string>, body: string, signal: AbortSignal,
  ): Promise<UpstreamRecord[]> {
    const response = await this.#pool.request({ method: 'POST', path, headers, body, signal });
    if (response.statusCode < 200 || response.statusCode > 299) {
      await response.body.dump().catch(() => undefined);
      const transient = response.statusCode >= 500 || TRANSIENT_4XX.has(response.statusCode);
      throw new UpstreamError(this.name, `${what} answered HTTP ${response.statusCode}`, { transient });
    }
    const text = await response.body.text();
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      // No cause: a SyntaxError quotes the body, which may hold personal data.
      throw new UpstreamError(this.name, `${what} answered malformed JSON (HTTP ${response.statusCode})`);
    }
    const records = isRecord(parsed) ? parsed['records'] : undefined;
    if (!Array.isArray(records) || !records.every(isRecord)) {
      throw new UpstreamError(this.name, `${what} answered a body not shaped {"records": [object, …]}`);
    }
    return records;
  }

  #lookupHeaders(): Record<string, string> {
    const headers: Record<string, string> = {
      accept: 'application/json',
      'content-type': 'application/json',
      ...this.#extraHeaders,
    };
    const env = this.#config.bearerTokenEnv;
    if (env !== undefined) {
      const token = this.#env[env];
      if (!token) {
        throw new UpstreamError(
          this.name, `rest connector "${this.name}": environment variable ${env} (bearer token) is not set`, { transient: false },
        );
      }
      headers['authorization'] = `Bearer ${token}`;
    }
    return headers;
  }

  async health(): Promise<HealthStatus> {
    if (this.#closing) return { ok: false, detail: 'connector is closed' };
    const ms = Math.min(this.#config.timeoutMs, HEALTH_TIMEOUT_MS);
    const signal = AbortSignal.timeout(ms);
    try {
      const response = await this.#pool.request({
        method: 'GET', path: this.#basePath || '/', headers: this.#extraHeaders, signal,
      });
      await response.body.dump().catch(() => undefined);
      const detail = `answered HTTP ${response.statusCode}`;
      return { ok: response.statusCode < 500, detail };
    } catch (error) {
      return { ok: false, detail: signal.aborted ? `timed out after ${ms} ms` : `unreachable: ${describeNetworkError(error)}` };
    }
  }

  close(): Promise<void> {
    this.#closing ??= this.#pool.close();
    return this.#closing;
  }
}

export const restConnectorFactory: ConnectorFactory = {
  kind: 'rest',
  configSchema: restConfigSchema,
  create(name: string, config: Record<string, unknown>, context: ConnectorContext): Connector {
    return new RestConnector(name, readConfig(config), context.env);
  },
};
