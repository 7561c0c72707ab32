/**
 * Helpers of the hostile-input tests (issue 10): send a request and keep what came back, find
 * internals in a response body, and check that every response that served data has its access
 * record.
 */
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { ACCESS_COLLECTION, accessRecordsOf, type EvidenceBlock } from '../../audit/index.ts';
import type { TestHub } from './hub.ts';

export interface Sent {
  readonly status: number;
  readonly text: string;
  readonly requestId: string;
  /** The parsed body, when it was JSON. */
  readonly body: { data?: Record<string, unknown> | null; errors?: Array<{ message: string; path?: unknown[]; extensions?: Record<string, unknown> }> } | undefined;
}

/**
 * What a client must never see: stack frames, source paths, JavaScript error classes, Node and
 * MongoDB/FerretDB internals. Returns the names of the patterns found (none: []).
 */
const INTERNALS: ReadonlyArray<readonly [string, RegExp]> = [
  ['stack frame', /\bat (?:async )?[\w$.<>[\]]+ \(|\bat (?:file:|node:|\/)\S*:\d+/],
  ['source path', /(?:\/[\w.@+-]+)+\.(?:ts|js|mjs|cjs)\b|node_modules/],
  ['JavaScript error class', /\b(?:Type|Range|Reference|Syntax|Eval|URI|Aggregate)Error\b/],
  ['Node internals', /Maximum call stack|Cannot read propert|is not a function|is not iterable|ERR_[A-Z_]{4,}|ECONN(?:RESET|REFUSED)|EPIPE/],
  ['MongoDB internals', /Mongo\w*Error|E11000|FerretDB|BSON|ns not found/],
  ['unexpected error', /Unexpected error\.|INTERNAL_SERVER_ERROR/],
];

export function internalsIn(text: string, echoed: readonly string[] = []): string[] {
  // What the client sent may come back in a message (an unknown purpose code, say): not internals.
  let rest = text;
  // Only strings long enough to hold a pattern: removing a short one (a space) would forge matches.
  for (const s of echoed) if (s.length >= 9) rest = rest.replaceAll(JSON.stringify(s).slice(1, -1), '').replaceAll(s, '');
  return INTERNALS.filter(([, pattern]) => pattern.test(rest)).map(([name]) => name);
}

let sequence = 0;
/** A fresh request id the hub accepts (useRequestId's SANE pattern), so a record can be found by it. */
export const newRequestId = () => `hostile-${process.pid}-${++sequence}-${randomBytes(4).toString('hex')}`;

/** POSTs a GraphQL body (an object is sent as JSON, a string as is) with a token and a fresh x-request-id. */
export async function send(url: string, token: string | null, body: unknown, headers: Record<string, string> = {}): Promise<Sent> {
  const requestId = newRequestId();
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json',
      'x-request-id': requestId,
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...headers,
    },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    signal: AbortSignal.timeout(20_000),
  });
  const text = await res.text();
  let parsed: Sent['body'];
  try {
    parsed = JSON.parse(text) as Sent['body'];
  } catch {
    parsed = undefined;
  }
  return { status: res.status, text, requestId: res.headers.get('x-request-id') ?? requestId, body: parsed };
}

/** The error codes of a response, in order. */
export const codesOf = (r: Sent): unknown[] => (r.body?.errors ?? []).map((e) => e.extensions?.['code']);

/**
 * Whether a response served department data under `access`: a resource record of a subject
 * (an object below `person`, an element of `persons` or `enterprise`, whatever their aliases) or a
 * verification (an object with a boolean `match`, under any alias).
 */
export function servedData(r: Sent): boolean {
  const access = r.body?.data?.['access'];
  if (!access || typeof access !== 'object') return false;
  const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  for (const value of Object.values(access)) {
    for (const entry of Array.isArray(value) ? value : [value]) {
      if (!isObject(entry)) continue;
      if (Object.values(entry).some((v) => isObject(v) || typeof v === 'boolean')) return true;
    }
  }
  return false;
}

/**
 * The responses (of those given) that served data with no `allow` or `partial` access record of
 * their request id. Flushes the hub's audit writer first.
 */
export async function servedWithoutRecord(t: TestHub, responses: readonly Sent[]): Promise<string[]> {
  const served = responses.filter(servedData);
  if (served.length === 0) return [];
  await t.hub.runtime.audit.flush();
  // One pass over the test's own trail (a throwaway database): a search per request id scans it each time.
  const recorded = new Set<string>();
  const blocks = t.hubDb.db.collection<EvidenceBlock>(ACCESS_COLLECTION).find({}, { projection: { _id: 0, records: 1, lines: 1, deflated: 1 } });
  for await (const block of blocks) {
    for (const r of accessRecordsOf(block)) if (r.requestId && (r.decision === 'allow' || r.decision === 'partial')) recorded.add(r.requestId);
  }
  return served.map((r) => r.requestId).filter((id) => !recorded.has(id));
}

export interface RawExchange {
  /** Everything the server sent, as latin1 (bytes preserved). */
  readonly raw: string;
  /** Status of the first response, or 0 when none came. */
  readonly status: number;
  /** Body of the first response (Content-Length or chunked), decoded as UTF-8. */
  readonly body: string;
  /** `server`: the server closed the connection; `deadline`: the test gave up and closed it. */
  readonly closedBy: 'server' | 'deadline';
}

/**
 * One raw TCP exchange with the hub over node:net, for what fetch will not send: `write` puts
 * bytes on the socket (all at once or trickling) and the exchange ends when the server closes the
 * connection or at `deadlineMs`, whichever comes first (then the socket is destroyed).
 */
export function rawExchange(url: string, write: (socket: Socket) => void | Promise<void>, deadlineMs: number): Promise<RawExchange> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    let closedBy: RawExchange['closedBy'] = 'server';
    const deadline = setTimeout(() => {
      closedBy = 'deadline';
      socket.destroy();
    }, deadlineMs);
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.on('error', () => { /* a reset by the server ends the exchange like a close */ });
    socket.on('close', () => {
      clearTimeout(deadline);
      const all = Buffer.concat(chunks);
      resolve({ raw: all.toString('latin1'), ...firstResponse(all), closedBy });
    });
    socket.on('connect', () => void Promise.resolve(write(socket)).catch(() => socket.destroy()));
  });
}

function firstResponse(all: Buffer): { status: number; body: string } {
  const end = all.indexOf('\r\n\r\n');
  if (end < 0) return { status: 0, body: '' };
  const head = all.subarray(0, end).toString('latin1');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? 0);
  let rest = all.subarray(end + 4);
  const length = /\r\ncontent-length: *(\d+)/i.exec(head);
  if (length) return { status, body: rest.subarray(0, Number(length[1])).toString('utf8') };
  if (!/\r\ntransfer-encoding: *chunked/i.test(head)) return { status, body: '' };
  const parts: Buffer[] = [];
  for (;;) {
    const line = rest.indexOf('\r\n');
    const size = line < 0 ? 0 : Number.parseInt(rest.subarray(0, line).toString('latin1'), 16);
    if (!size) break;
    parts.push(rest.subarray(line + 2, line + 2 + size));
    rest = rest.subarray(line + 4 + size);
  }
  return { status, body: Buffer.concat(parts).toString('utf8') };
}

/** Writes `bytes` one at a time, `everyMs` apart, until all are written or the socket closes. */
export async function trickle(socket: Socket, bytes: Buffer, everyMs: number): Promise<void> {
  for (let i = 0; i < bytes.length && !socket.destroyed; i++) {
    socket.write(bytes.subarray(i, i + 1));
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
