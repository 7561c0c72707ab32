/**
 * Hub connector (kind `hub`): a resource another region's hub shares (跨域通办).
 *
 * This hub calls the remote one as a system registered there (its own bearer token, issued by the
 * remote hub's operator), over the remote's consumer GraphQL API, exactly as any department system
 * would, plus who it asks for:
 *
 *     POST {url}                                   x-request-id: <this request's id>
 *     query ($purpose, $caseId, $operator, $onBehalfOf, $keys) {
 *       access(purpose: $purpose, caseId: $caseId, operator: $operator, onBehalfOf: $onBehalfOf) {
 *         persons(idNumbers: $keys) { idNumber r: <dataset> { <items> } }
 *       }
 *     }
 *
 * - The purpose, case number and operator of the request travel as they are; `onBehalfOf` names the
 *   consuming department and system here. The remote hub accepts `onBehalfOf` only from a system it
 *   registered as a peer hub (`peerHub: true`), records it in its own access record, and records
 *   under the same request id, so the two trails can be joined.
 * - `dataset` is the resource's field at the remote hub (`hukou`); `keyField` chooses the subject:
 *   `idNumber` asks `persons(idNumbers:)` (one call per batch, split at `maxKeysPerCall`, the remote's
 *   `limits.maxBatch`), `creditCode` asks one aliased `enterprise(creditCode:)` per key, in one call.
 * - A refusal of the remote hub comes back as the same refusal: a request-level or resource-level
 *   error with a refusal code (FORBIDDEN, PURPOSE_INVALID, GRANT_EXPIRED, QUOTA_EXCEEDED,
 *   CONSENT_REQUIRED, PURPOSE_REQUIRED, BAD_USER_INPUT) fails the batch with `UpstreamRefusal` of
 *   that code; a refused item comes back in the record's ITEM_REFUSALS. Anything else (no answer in
 *   `timeoutMs`, HTTP errors, UNAUTHENTICATED — this hub's token —, AUDIT_UNAVAILABLE or
 *   UPSTREAM_* at the remote, an answer not shaped as asked) is `UpstreamError`: UPSTREAM_UNAVAILABLE.
 * - Items the remote hub masks arrive masked; this hub's own policy applies on top.
 *
 * The token is read on every call from the environment variable `tokenEnv` or the file `tokenFile`
 * (relative to the catalogue directory), never from the catalogue itself.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Pool } from 'undici';
import { chunk, distinctKeys, isRecord, throwIfCallerAborted } from './batch.ts';
import {
  ITEM_REFUSALS, UpstreamError, UpstreamRefusal, UpstreamTimeoutError,
  type ConfigSchema, type Connector, type ConnectorContext, type ConnectorFactory, type FetchRequest, type HealthStatus, type UpstreamRecord,
} from './types.ts';

export interface HubConnectorConfig {
  /** The remote hub's GraphQL endpoint, `http(s)://host[:port]/graphql`. */
  readonly url: string;
  readonly tokenEnv?: string;
  readonly tokenFile?: string;
  readonly timeoutMs: number;
  readonly maxKeysPerCall: number;
}

const DEFAULT_TIMEOUT_MS = 5000;
const DEFAULT_MAX_KEYS = 100;
const HEALTH_TIMEOUT_MS = 2000;
const MAX_RESPONSE_BYTES = 64 * 1024 * 1024;
const NAME = /^[_A-Za-z][_0-9A-Za-z]*$/;
/** Codes of the remote hub passed through as the same refusal; any other code is an outage. */
export const PASSED_REFUSALS: ReadonlySet<string> = new Set([
  'FORBIDDEN', 'PURPOSE_REQUIRED', 'PURPOSE_INVALID', 'GRANT_EXPIRED', 'QUOTA_EXCEEDED', 'CONSENT_REQUIRED', 'BAD_USER_INPUT',
]);

export const hubConfigSchema: ConfigSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['url'],
  oneOf: [{ required: ['tokenEnv'] }, { required: ['tokenFile'] }],
  properties: {
    url: {
      type: 'string',
      format: 'uri',
      pattern: '^https?://[^/?#]+(/[^?#]*)?$',
      description: "the remote hub's GraphQL endpoint, e.g. https://hub.other-region.example/graphql",
    },
    tokenEnv: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]*$', description: 'environment variable holding the token this hub holds at the remote one' },
    tokenFile: { type: 'string', minLength: 1, description: 'file holding that token (relative to the catalogue directory)' },
    timeoutMs: { type: 'integer', minimum: 1, maximum: 600_000, default: DEFAULT_TIMEOUT_MS },
    maxKeysPerCall: { type: 'integer', minimum: 1, maximum: 10_000, default: DEFAULT_MAX_KEYS, description: "the remote hub's limits.maxBatch" },
  },
};

interface GraphQLAnswer {
  readonly data?: unknown;
  readonly errors?: ReadonlyArray<{ readonly message?: unknown; readonly path?: unknown; readonly extensions?: { readonly code?: unknown; readonly reason?: unknown } }>;
}

type Refused = { code: string; message: string };

export class HubConnector implements Connector {
  readonly name: string;
  readonly kind = 'hub';
  readonly #config: HubConnectorConfig;
  readonly #env: NodeJS.ProcessEnv;
  readonly #baseDir: string;
  readonly #pool: Pool;
  readonly #path: string;
  readonly #readyPath: string;
  #closed = false;

  constructor(name: string, config: HubConnectorConfig, context: ConnectorContext) {
    this.name = name;
    this.#config = config;
    this.#env = context.env ?? process.env;
    this.#baseDir = context.baseDir;
    const url = new URL(config.url);
    this.#path = url.pathname + url.search;
    this.#readyPath = `${url.pathname.replace(/\/graphql\/?$/, '').replace(/\/+$/, '')}/ready`;
    this.#pool = new Pool(url.origin, { connections: 16, keepAliveTimeout: 30_000, maxResponseSize: MAX_RESPONSE_BYTES, connect: { timeout: config.timeoutMs } });
  }

  #token(): string {
    const { tokenEnv, tokenFile } = this.#config;
    let token: string | undefined;
    if (tokenEnv !== undefined) token = this.#env[tokenEnv]?.trim();
    else if (tokenFile !== undefined) {
      try {
        token = readFileSync(resolve(this.#baseDir, tokenFile), 'utf8').trim();
      } catch {
        throw new UpstreamError(this.name, `hub connector "${this.name}": token file ${tokenFile} cannot be read`, { transient: false });
      }
    }
    if (!token) throw new UpstreamError(this.name, `hub connector "${this.name}": no token (${tokenEnv !== undefined ? `environment variable ${tokenEnv}` : `file ${tokenFile}`} is empty or unset)`, { transient: false });
    return token;
  }

  async fetchMany(request: FetchRequest): Promise<Array<UpstreamRecord | null>> {
    throwIfCallerAborted(request.signal);
    if (this.#closed) throw new UpstreamError(this.name, `hub connector "${this.name}" is closed`);
    const keys = distinctKeys(request.keys);
    if (keys.length === 0) return [];
    const { context } = request;
    if (context === undefined) throw new UpstreamError(this.name, `hub connector "${this.name}": a remote hub is asked only under a purpose statement`, { transient: false });
    if (!NAME.test(request.dataset) || !request.items.every((i) => NAME.test(i))) {
      throw new UpstreamError(this.name, `hub connector "${this.name}": dataset and items must be GraphQL field names (got ${JSON.stringify(request.dataset)})`, { transient: false });
    }
    const subject = request.keyField === 'idNumber' ? 'person' : request.keyField === 'creditCode' ? 'enterprise' : undefined;
    if (subject === undefined) throw new UpstreamError(this.name, `hub connector "${this.name}": keyField must be idNumber (persons) or creditCode (enterprises), not ${JSON.stringify(request.keyField)}`, { transient: false });
    const items = request.items.filter((i) => i !== request.keyField);
    const selection = items.length > 0 ? items.join(' ') : '__typename';
    const found = new Map<string, UpstreamRecord | null>();
    await Promise.all(chunk(keys, this.#config.maxKeysPerCall).map(async (part) => {
      const query = subject === 'person'
        ? `query RemoteRead($purpose: String, $caseId: String, $operator: String, $onBehalfOf: OnBehalfOf, $keys: [String!]!) { access(purpose: $purpose, caseId: $caseId, operator: $operator, onBehalfOf: $onBehalfOf) { persons(idNumbers: $keys) { idNumber r: ${request.dataset} { ${selection} } } } }`
        : `query RemoteRead($purpose: String, $caseId: String, $operator: String, $onBehalfOf: OnBehalfOf, ${part.map((_, i) => `$k${i}: String!`).join(', ')}) { access(purpose: $purpose, caseId: $caseId, operator: $operator, onBehalfOf: $onBehalfOf) { ${part.map((_, i) => `e${i}: enterprise(creditCode: $k${i}) { creditCode r: ${request.dataset} { ${selection} } }`).join(' ')} } }`;
      const variables: Record<string, unknown> = {
        purpose: context.purpose, caseId: context.caseId, operator: context.operator,
        onBehalfOf: { department: context.department, system: context.system },
      };
      if (subject === 'person') variables['keys'] = part;
      else part.forEach((k, i) => { variables[`k${i}`] = k; });
      const answer = await this.#post(query, variables, context.requestId, request.signal);
      this.#read(answer, subject, part, request.keyField, items, found);
    }));
    return request.keys.map((key) => {
      const record = found.get(key);
      if (record === undefined || record === null) return null;
      // Each position its own copy (a caller masking one answer must not change another).
      const copy: UpstreamRecord = { ...record };
      const refusals = (record as Record<symbol, unknown>)[ITEM_REFUSALS];
      if (refusals) Object.defineProperty(copy, ITEM_REFUSALS, { value: refusals, enumerable: false });
      return copy;
    });
  }

  /** Reads one answer into `found`; throws UpstreamRefusal / UpstreamError for the batch. */
  #read(answer: GraphQLAnswer, subject: 'person' | 'enterprise', part: readonly string[], keyField: string, items: readonly string[], found: Map<string, UpstreamRecord | null>): void {
    const what = `remote hub via connector "${this.name}"`;
    const itemRefusals = new Map<number, Map<string, Refused>>();
    for (const error of answer.errors ?? []) {
      const code = typeof error.extensions?.code === 'string' ? error.extensions.code : 'INTERNAL_SERVER_ERROR';
      const message = typeof error.message === 'string' ? error.message : 'refused';
      const path = Array.isArray(error.path) ? error.path : [];
      // [access, persons, i, r, item] / [access, e<i>, r, item]: one item of one subject refused.
      const index = subject === 'person' ? (typeof path[2] === 'number' ? path[2] : -1) : (typeof path[1] === 'string' && /^e\d+$/.test(path[1]) ? Number(path[1].slice(1)) : -1);
      const itemAt = subject === 'person' ? 4 : 3;
      if (index >= 0 && path.length === itemAt + 1 && typeof path[itemAt] === 'string' && PASSED_REFUSALS.has(code)) {
        const forSubject = itemRefusals.get(index) ?? new Map<string, Refused>();
        forSubject.set(path[itemAt], { code, message: `The remote hub refused item ${path[itemAt]}: ${message}` });
        itemRefusals.set(index, forSubject);
        continue;
      }
      if (PASSED_REFUSALS.has(code)) throw new UpstreamRefusal(this.name, code, `The remote hub refused: ${message}`);
      // Its own outages may pass; a token it refuses or fields it does not have will not.
      const lasting = code === 'UNAUTHENTICATED' || code === 'GRAPHQL_VALIDATION_FAILED' || code === 'GRAPHQL_PARSE_FAILED';
      throw new UpstreamError(this.name, `${what} answered ${code}`, { transient: !lasting });
    }
    const access = isRecord(answer.data) ? answer.data['access'] : undefined;
    if (!isRecord(access)) throw new UpstreamError(this.name, `${what} answered no access`);
    const subjects: unknown[] = subject === 'person'
      ? (Array.isArray(access['persons']) ? access['persons'] : [])
      : part.map((_, i) => access[`e${i}`]);
    if (subjects.length !== part.length) throw new UpstreamError(this.name, `${what} answered ${subjects.length} subjects for ${part.length} keys`);
    part.forEach((key, i) => {
      const entry = subjects[i];
      if (!isRecord(entry) || entry[keyField] !== key) throw new UpstreamError(this.name, `${what} answered subjects out of order`);
      const r = entry['r'];
      if (r === null || r === undefined) {
        found.set(key, null);
        return;
      }
      if (!isRecord(r)) throw new UpstreamError(this.name, `${what} answered a record that is not an object`);
      const record: UpstreamRecord = { [keyField]: key };
      for (const item of items) if (Object.hasOwn(r, item)) record[item] = r[item];
      const refused = itemRefusals.get(i);
      if (refused) {
        for (const item of refused.keys()) delete record[item];
        Object.defineProperty(record, ITEM_REFUSALS, { value: refused, enumerable: false });
      }
      found.set(key, record);
    });
  }

  async #post(query: string, variables: Record<string, unknown>, requestId: string, callerSignal: AbortSignal | undefined): Promise<GraphQLAnswer> {
    const what = `remote hub via connector "${this.name}"`;
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, this.#config.timeoutMs);
    const onCallerAbort = () => controller.abort();
    callerSignal?.addEventListener('abort', onCallerAbort, { once: true });
    try {
      const response = await this.#pool.request({
        method: 'POST',
        path: this.#path,
        headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json', authorization: `Bearer ${this.#token()}`, 'x-request-id': requestId },
        body: JSON.stringify({ query, variables }),
        signal: controller.signal,
      });
      const text = await response.body.text();
      // A GraphQL-over-HTTP server answers refusals with 200 (or 4xx for request errors, with a body).
      if (response.statusCode >= 500) throw new UpstreamError(this.name, `${what} answered HTTP ${response.statusCode}`);
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        throw new UpstreamError(this.name, `${what} answered malformed JSON (HTTP ${response.statusCode})`);
      }
      if (!isRecord(parsed) || (parsed['errors'] !== undefined && !Array.isArray(parsed['errors']))) throw new UpstreamError(this.name, `${what} answered a body that is not a GraphQL response`);
      if (response.statusCode === 401) throw new UpstreamError(this.name, `${what} does not accept this hub's token (HTTP 401)`, { transient: false });
      return parsed as GraphQLAnswer;
    } catch (error) {
      if (callerSignal?.aborted) throw callerSignal.reason;
      if (error instanceof UpstreamError || error instanceof UpstreamRefusal) throw error;
      if (timedOut) throw new UpstreamTimeoutError(this.name, `${what} timed out after ${this.#config.timeoutMs} ms`);
      const code = error instanceof Error ? ((error as Error & { code?: unknown }).code ?? error.name) : 'error';
      throw new UpstreamError(this.name, `${what} failed: ${String(code)}`, { cause: error });
    } finally {
      clearTimeout(timer);
      callerSignal?.removeEventListener('abort', onCallerAbort);
    }
  }

  async health(): Promise<HealthStatus> {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), Math.min(HEALTH_TIMEOUT_MS, this.#config.timeoutMs));
    try {
      const response = await this.#pool.request({ method: 'GET', path: this.#readyPath, signal: controller.signal });
      await response.body.dump();
      return response.statusCode < 300 ? { ok: true } : { ok: false, detail: `remote hub not ready (HTTP ${response.statusCode})` };
    } catch {
      return { ok: false, detail: 'remote hub unreachable' };
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#pool.close();
  }
}

export const hubConnectorFactory: ConnectorFactory = {
  kind: 'hub',
  configSchema: hubConfigSchema,
  // Not retried unless the catalogue says so: a call that timed out may have been served there,
  // and a second one would be recorded and charged against the remote grant's quota again.
  defaultRetries: 0,
  // Each read carries its request's statement (who asks, why, which case): never combined.
  perRequest: true,
  create(name, config, context) {
    return new HubConnector(name, {
      url: String(config['url']),
      timeoutMs: (config['timeoutMs'] as number | undefined) ?? DEFAULT_TIMEOUT_MS,
      maxKeysPerCall: (config['maxKeysPerCall'] as number | undefined) ?? DEFAULT_MAX_KEYS,
      ...(typeof config['tokenEnv'] === 'string' ? { tokenEnv: config['tokenEnv'] } : {}),
      ...(typeof config['tokenFile'] === 'string' ? { tokenFile: config['tokenFile'] } : {}),
    }, context);
  },
};
