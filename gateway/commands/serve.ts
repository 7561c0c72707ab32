/**
 * `hub serve --config <file>`: validate config and catalogue, then serve until SIGINT / SIGTERM.
 *
 * - SIGTERM / SIGINT: stop accepting connections, let in-flight requests finish within
 *   `server.drainSeconds`, flush the audit trail, close connectors and MongoDB, exit 0. A second
 *   SIGINT while draining exits at once (code 1; the audit trail stays gap-free even then); a
 *   repeated SIGTERM is ignored.
 * - A fault no code handled (an unhandled rejection, an uncaught exception): one `fatal` log line,
 *   exit 1 at once (gateway/faults.ts).
 * - SIGHUP: re-read the catalogue files and connectors without dropping a request
 *   (HubRuntime.reloadCatalogue), and the credential files: TLS certificate, key, client CA and JWKS
 *   files (HubServer.reloadCredentials); anything invalid is logged and the running one kept.
 */
import { loadConfig, readSigningKey, readSubjectKey } from '../config.ts';
import { exitOnFaults } from '../faults.ts';
import { startHub } from '../hub.ts';
import { createLogger } from '../logger.ts';
import { loadHubCatalogue } from '../runtime.ts';

/** After a clean shutdown, how long a handle left open (a stray timer, a socket) may keep the process alive. */
const EXIT_GRACE_MS = 3_000;

export async function serve(configPath: string): Promise<void> {
  const config = await loadConfig(configPath);
  const subjectKey = await readSubjectKey(config);
  const signingKey = await readSigningKey(config);
  const catalogue = await loadHubCatalogue(config.catalogue);
  const logger = createLogger(config.log.level);
  exitOnFaults(logger);
  const hub = await startHub({ config, logger, subjectKey, signingKey, catalogue });
  logger.info({ url: hub.url, resources: catalogue.resources.length, pid: process.pid }, 'hub is serving');
  const reload = () => {
    logger.info({ signal: 'SIGHUP', catalogue: config.catalogue }, 'reloading the catalogue files');
    hub.runtime.reloadCatalogue().catch((error: unknown) => logger.error({ err: error }, 'catalogue reload failed; still serving the previous catalogue'));
    hub.server.reloadCredentials().catch((error: unknown) => logger.error({ err: error }, 'credential files reload failed; still using the previous ones'));
  };
  process.on('SIGHUP', reload);
  let failure: unknown;
  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) {
        // A second Ctrl-C means "now"; a repeated SIGTERM (a supervisor insisting) changes nothing.
        if (signal !== 'SIGINT') return;
        logger.warn({ signal }, 'second SIGINT while shutting down: exiting now');
        process.exit(1);
      }
      stopping = true;
      logger.info({ signal, drainSeconds: config.server.drainSeconds }, 'shutting down: no new connections; finishing in-flight requests and audit writes');
      hub.close().then(resolve, (error: unknown) => {
        logger.error({ err: error }, 'error during shutdown');
        failure = error;
        resolve();
      });
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  process.off('SIGHUP', reload);
  if (failure !== undefined) throw failure instanceof Error ? failure : new Error(String(failure));
  logger.info('hub stopped');
  setTimeout(() => process.exit(process.exitCode ?? 0), EXIT_GRACE_MS).unref();
}
