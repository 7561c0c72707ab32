/**
 * Gives every request an id (the caller's `x-request-id` when it is a sane token, else a UUID),
 * returns it in the response header, and exposes it to the context for logs and evidence.
 */
import { randomUUID } from 'node:crypto';
import type { Plugin } from 'graphql-yoga';

const SANE = /^[A-Za-z0-9._:-]{8,128}$/;
const ids = new WeakMap<Request, string>();

export function requestIdOf(request: Request): string {
  let id = ids.get(request);
  if (!id) {
    const given = request.headers.get('x-request-id');
    id = given && SANE.test(given) ? given : randomUUID();
    ids.set(request, id);
  }
  return id;
}

export function useRequestId(): Plugin {
  return {
    onResponse({ request, response }) {
      response.headers.set('x-request-id', requestIdOf(request));
    },
  };
}
