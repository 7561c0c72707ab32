/**
 * Shared helpers of the connector tests: connectors created through the registry and closed after
 * each test, and the UpstreamError a failing call must reject with.
 */
import { afterEach, expect } from 'vitest';
import { createConnector, UpstreamError, type Connector } from '../../connectors/index.ts';

/** Returns a factory of `kind` connectors (config merged over `base`), all closed after each test. */
export function connectorsOfKind(kind: string, base: () => Record<string, unknown>, baseDir: () => string) {
  const open: Connector[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((c) => c.close()));
  });
  return (config: Record<string, unknown> = {}, name = `${kind}-test`): Connector => {
    const connector = createConnector(name, { kind, ...base(), ...config }, { baseDir: baseDir() });
    open.push(connector);
    return connector;
  };
}

export async function upstreamError(promise: Promise<unknown>): Promise<UpstreamError> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(UpstreamError);
  return error as UpstreamError;
}
