/**
 * Raised when no MongoDB-wire server can be provided: nothing configured, nothing installed that
 * could start one, or the one configured does not answer. The message says what to install or fix.
 */
export class ProvisionError extends Error {
  override readonly name: string = 'ProvisionError';
}

/** What to install when neither MONGODB_URI, mongod nor a usable Go toolchain is available. */
export function installAdvice(cacheDir: string): string {
  return [
    'Do one of:',
    '  • install Go 1.24 or newer from https://go.dev/dl/ (or Debian 13\'s `apt install golang-go`;',
    '    Debian 12\'s golang-go is 1.19, too old; Go 1.21–1.23 also work when GOTOOLCHAIN=auto may',
    `    fetch Go 1.24). The hub then builds FerretDB once (1–5 min) and caches it in ${cacheDir}.`,
    '  • or run MongoDB 6 or newer and set MONGODB_URI, e.g. MONGODB_URI=mongodb://127.0.0.1:27017/',
    '  • or put MongoDB 6+\'s `mongod` on PATH; the hub then starts it itself.',
  ].join('\n');
}
