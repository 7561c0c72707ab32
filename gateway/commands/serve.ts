/**
 * `hub serve --config <file>`: validate config and catalogue, then serve until SIGINT / SIGTERM.
 */
import { loadConfig, readSigningKey, readSubjectKey } from '../config.ts';
import { startHub } from '../hub.ts';
import { createLogger } from '../logger.ts';
import { loadHubCatalogue } from '../runtime.ts';

export async function serve(configPath: string): Promise<void> {
  const config = await loadConfig(configPath);
  const subjectKey = await readSubjectKey(config);
  const signingKey = await readSigningKey(config);
  const catalogue = await loadHubCatalogue(config.catalogue);
  const logger = createLogger(config.log.level);
  const hub = await startHub({ config, logger, subjectKey, signingKey, catalogue });
  logger.info({ url: hub.url, resources: catalogue.resources.length }, 'hub is serving');
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      logger.info({ signal }, 'shutting down: finishing in-flight requests and audit writes');
      hub.close().then(resolve, (error: unknown) => {
        logger.error({ err: error }, 'error during shutdown');
        resolve();
      });
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}
