/**
 * (a) The ceiling: a raw node:http server that answers the benchmark's operations with the same
 * JSON body the GraphQL response would have, calling the same connectors with the same batching
 * (one fetchMany per resource per request), but without GraphQL, authentication, purpose checks,
 * policies, masking or audit. It knows the operations by `operationName` (bench/scenarios.ts).
 *
 * Unknown purpose: the same error body the hub sends (a map lookup, no audit record).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Connector, UpstreamRecord } from '../../connectors/index.ts';
import type { Catalogue, Resource } from '../../schema/index.ts';
import { OPERATIONS, unknownPurposeMessage, type Operation, type Selection } from '../scenarios.ts';

const MAX_BODY = 1024 * 1024;

interface Deps {
  readonly catalogue: Catalogue;
  readonly connectors: ReadonlyMap<string, Connector>;
}

type Json = Record<string, unknown>;

class BadRequest extends Error {}

async function readJson(req: IncomingMessage): Promise<Json> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const part of req) {
    const buffer = part as Buffer;
    size += buffer.length;
    if (size > MAX_BODY) throw new BadRequest('body too large');
    parts.push(buffer);
  }
  const parsed: unknown = JSON.parse(Buffer.concat(parts).toString('utf8'));
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new BadRequest('expected a JSON object');
  return parsed as Json;
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

const str = (v: unknown, name: string): string => {
  if (typeof v !== 'string') throw new BadRequest(`variable ${name} must be a string`);
  return v;
};

const normalize = (v: unknown) => (v === null || v === undefined ? '' : String(v).trim());

function pick(record: UpstreamRecord | null | undefined, items: readonly string[]): Json | null {
  if (!record) return null;
  const out: Json = {};
  for (const item of items) out[item] = record[item] ?? null;
  return out;
}

export function createCeilingServer(deps: Deps): Server {
  const byField = new Map(deps.catalogue.resources.filter((r) => r.subject === 'person').map((r) => [r.field, r]));
  const byCode = new Map(deps.catalogue.resources.map((r) => [r.code, r]));
  const purposes = new Set(deps.catalogue.purposes.map((p) => p.code));

  const fetch = (r: Resource, keys: readonly string[], items: readonly string[]) => {
    const connector = deps.connectors.get(r.binding.connector);
    if (!connector) throw new Error(`connector ${r.binding.connector} is not configured`);
    return connector.fetchMany({ dataset: r.binding.dataset, keyField: r.binding.keyField, keys, items });
  };
  const resource = (s: Selection) => {
    const r = byField.get(s.field);
    if (!r) throw new BadRequest(`no person resource ${s.field}`);
    return r;
  };

  async function people(selections: readonly Selection[], keys: readonly string[]): Promise<Json[]> {
    const columns = await Promise.all(selections.map((s) => fetch(resource(s), keys, s.items)));
    return keys.map((key, i) => {
      const person: Json = { idNumber: key };
      selections.forEach((s, j) => (person[s.field] = pick(columns[j]![i], s.items)));
      return person;
    });
  }

  async function answer(op: Operation, v: Json): Promise<Json> {
    const purpose = str(v['purpose'], 'purpose');
    if (!purposes.has(purpose)) {
      return {
        errors: [{ message: unknownPurposeMessage(purpose), locations: [op.accessLocation], path: ['access'], extensions: { code: 'PURPOSE_INVALID' } }],
        data: { access: null },
      };
    }
    const plan = op.plan;
    switch (plan.shape) {
      case 'person': {
        const [person] = await people(plan.selections, [str(v['id'], 'id')]);
        return { data: { access: { person } } };
      }
      case 'persons': {
        const ids = v['ids'];
        if (!Array.isArray(ids) || !ids.every((id) => typeof id === 'string')) throw new BadRequest('ids must be strings');
        return { data: { access: { persons: await people(plan.selections, ids) } } };
      }
      case 'verify': {
        const r = byCode.get(str(v['resource'], 'resource'));
        if (!r) throw new BadRequest('unknown resource');
        const claims = v['claims'] as Json;
        const claimed = Object.keys(claims).sort();
        const [record] = await fetch(r, [str(v['key'], 'key')], claimed);
        const mismatched = record ? claimed.filter((item) => normalize(record[item]) !== normalize(claims[item])) : claimed;
        return { data: { access: { verify: { match: record !== null && record !== undefined && mismatched.length === 0, mismatched } } } };
      }
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'POST' || req.url !== '/graphql') {
      req.resume();
      return send(res, 404, { errors: [{ message: 'not found' }] });
    }
    const body = await readJson(req);
    const op = OPERATIONS.get(String(body['operationName']));
    if (!op) return send(res, 400, { errors: [{ message: 'unknown operation' }] });
    send(res, 200, await answer(op, (body['variables'] ?? {}) as Json));
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (res.headersSent) return res.destroy();
      if (error instanceof BadRequest || error instanceof SyntaxError) return send(res, 400, { errors: [{ message: error.message }] });
      send(res, 500, { errors: [{ message: 'Unexpected error.', extensions: { code: 'INTERNAL_SERVER_ERROR' } }] });
    });
  });
  server.keepAliveTimeout = 65_000;
  return server;
}
