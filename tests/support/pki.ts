/**
 * A throwaway PKI for the mutual-TLS tests, made with the openssl command line: certificate
 * authorities, a server certificate for 127.0.0.1, client certificates, and their SHA-256
 * fingerprints as Node prints them.
 */
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface Issued {
  readonly certFile: string;
  readonly keyFile: string;
  readonly cert: Buffer;
  readonly key: Buffer;
  /** SHA-256 fingerprint, `AB:CD:…`. */
  readonly fingerprint: string;
}

export interface Pki {
  readonly dir: string;
  /** A new CA (self-signed, EC P-256). */
  ca(name: string): Promise<Issued>;
  /** A certificate issued by `ca`: for a server (SAN IP 127.0.0.1) or a client (clientAuth). */
  issue(ca: Issued, name: string, use: 'server' | 'client'): Promise<Issued>;
  remove(): Promise<void>;
}

export async function createPki(): Promise<Pki> {
  const dir = await mkdtemp(join(tmpdir(), 'hub-pki-'));
  const openssl = (args: string[]) => run('openssl', args, { cwd: dir, timeout: 20_000 });
  const finish = async (name: string): Promise<Issued> => {
    const certFile = join(dir, `${name}.crt`);
    const keyFile = join(dir, `${name}.key`);
    const cert = await readFile(certFile);
    return { certFile, keyFile, cert, key: await readFile(keyFile), fingerprint: new X509Certificate(cert).fingerprint256 };
  };
  return {
    dir,
    async ca(name) {
      await openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2',
        '-subj', `/CN=${name}`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
        '-keyout', `${name}.key`, '-out', `${name}.crt`]);
      return finish(name);
    },
    async issue(ca, name, use) {
      await openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', `/CN=${name}`, '-keyout', `${name}.key`, '-out', `${name}.csr`]);
      const ext = use === 'server'
        ? 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\n'
        : 'extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature\n';
      await writeFile(join(dir, `${name}.ext`), ext);
      await openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', ca.certFile, '-CAkey', ca.keyFile, '-CAcreateserial', '-days', '2',
        '-extfile', `${name}.ext`, '-out', `${name}.crt`]);
      return finish(name);
    },
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}
