/**
 * Structured logs (pino). Authorization headers and tokens are redacted; subject keys never reach
 * a log line in the first place.
 */
import { pino, type Logger } from 'pino';

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'yiwang-hub' },
      redact: { paths: ['req.headers.authorization', 'headers.authorization', 'token', '*.token'], censor: '[redacted]' },
    },
    destination,
  );
}
