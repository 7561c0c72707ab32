/**
 * The console's only way to the hub: its session endpoints and its GraphQL API. The session cookie
 * is HttpOnly (this code never sees it); every call sends the session's CSRF token.
 */
export type Role = 'officer' | 'auditor' | 'admin';

export interface Principal {
  kind: Role;
  id: string;
  department: string;
  departmentName: string | null;
}

export interface SessionInfo {
  authenticated: boolean;
  principal?: Principal;
  csrfToken?: string;
  expiresAt?: string;
  /** The deployment's time zone: the hub's days (statistics, anomaly flags) are its calendar days. */
  timeZone?: string;
  demo: Role[];
}

export class ApiError extends Error {
  constructor(message: string, readonly code: string, readonly status: number) {
    super(message);
  }
}

let csrf = '';
const ended = new Set<() => void>();

/** Called when the hub says the session has ended (timed out, logged out elsewhere, token revoked). */
export function onSessionEnded(listener: () => void): void {
  ended.add(listener);
}

async function sessionCall(method: string, path: string, body?: unknown): Promise<SessionInfo> {
  const res = await fetch(path, {
    method,
    credentials: 'same-origin',
    headers: { accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...(csrf ? { 'x-csrf-token': csrf } : {}) },
    body: body === undefined ? null : JSON.stringify(body),
  });
  const json = (await res.json().catch(() => ({}))) as SessionInfo & { error?: { code: string; message: string } };
  if (!res.ok || json.error) throw new ApiError(json.error?.message ?? `HTTP ${res.status}`, json.error?.code ?? 'HTTP_ERROR', res.status);
  csrf = json.csrfToken ?? '';
  if (json.timeZone) hubTimeZone = json.timeZone;
  return json;
}

let hubTimeZone = 'Asia/Shanghai';

/** A calendar day (YYYY-MM-DD) in the hub's time zone, `offsetDays` from today. */
export function hubDay(offsetDays = 0): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone: hubTimeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date(Date.now() + offsetDays * 86_400_000));
}

export const currentSession = () => sessionCall('GET', '/console/session');
export const login = (token: string) => sessionCall('POST', '/console/session', { token });
export const demoLogin = (role: Role) => sessionCall('POST', '/console/session/demo', { role });
export const logout = () => sessionCall('DELETE', '/console/session');

interface GraphQLBody<T> {
  data?: T | null;
  errors?: Array<{ message: string; extensions?: { code?: string } }>;
}

/** A GraphQL call with the session; throws the hub's first error (message and code) when it refuses. */
export async function gql<T>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const res = await fetch('/graphql', {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json', 'x-csrf-token': csrf },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json().catch(() => ({}))) as GraphQLBody<T>;
  const first = body.errors?.[0];
  if (res.status === 401 || first?.extensions?.code === 'UNAUTHENTICATED') {
    csrf = '';
    for (const listener of ended) listener();
  }
  if (first) throw new ApiError(first.message, first.extensions?.code ?? 'ERROR', res.status);
  if (!body.data) throw new ApiError(`HTTP ${res.status}`, 'HTTP_ERROR', res.status);
  return body.data;
}

/** Downloads the trail export (auditors) with the session, as a file. */
export async function exportTrail(format: 'jsonl' | 'csv'): Promise<void> {
  const res = await fetch(`/audit/export?format=${format}`, { credentials: 'same-origin', headers: { 'x-csrf-token': csrf } });
  if (!res.ok) throw new ApiError((await res.text()).trim() || `HTTP ${res.status}`, 'EXPORT_FAILED', res.status);
  const url = URL.createObjectURL(await res.blob());
  const a = document.createElement('a');
  a.href = url;
  a.download = `audit-trail.${format}`;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
