/**
 * Starting and stopping one hub process: runtime (MongoDB, catalogue, connectors, grants, audit)
 * plus the HTTP server. Used by `hub serve`, `hub demo`, the tests and the benchmarks.
 */
import type { Logger } from 'pino';
import type { Catalogue } from '../schema/index.ts';
import type { HubConfig } from './config.ts';
import { createRuntime, type HubRuntime } from './runtime.ts';
import { createHubServer, type HubServer } from './server.ts';

export interface RunningHub {
  readonly runtime: HubRuntime;
  readonly server: HubServer;
  /** The GraphQL endpoint URL. */
  readonly url: string;
  close(): Promise<void>;
}

export async function startHub(options: { config: HubConfig; logger: Logger; subjectKey: Buffer; signingKey?: string; catalogue?: Catalogue; env?: NodeJS.ProcessEnv }): Promise<RunningHub> {
  const runtime = await createRuntime(options);
  let server: HubServer;
  let url: string;
  try {
    server = await createHubServer(runtime);
    url = await server.listen();
  } catch (error) {
    await runtime.close();
    throw error;
  }
  let closing: Promise<void> | undefined;
  return {
    runtime,
    server,
    url,
    close: () => (closing ??= (async () => {
      await server.close();
      await runtime.close();
    })()),
  };
}
