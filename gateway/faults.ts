/**
 * What `hub serve` does with a fault no code handled: a rejected promise nobody awaited, or an
 * exception thrown from a callback. Node's default prints a stack trace on stderr and exits; the
 * hub writes it as one structured log line at level `fatal`, where operators' log pipelines read
 * everything else it says, and exits with code 1 at once. It does not go on serving: after a fault
 * nobody foresaw the process's state is unknown, and a supervisor restarts a process that exits.
 * Nothing leaves without its record either way: a response is sent only once its evidence is
 * durable, and the log stays gap-free across a sudden exit (audit/writer.ts).
 */
import type { Logger } from 'pino';

export function exitOnFaults(logger: Logger, exit: (code: number) => void = (code) => process.exit(code)): void {
  const fatal = (kind: string) => (error: unknown) => {
    logger.fatal({ err: error }, `${kind}: a fault no code handled; exiting`);
    exit(1);
  };
  process.on('unhandledRejection', fatal('unhandled promise rejection'));
  process.on('uncaughtException', fatal('uncaught exception'));
}
