/**
 * HTTPS and mutual TLS. With `server.tls.clientCaFile`, the hub asks each client for a certificate
 * issued by that CA; a verified certificate identifies the department system whose catalogue entry
 * lists its SHA-256 fingerprint (`systems[].certificates`), as X-Road's security servers bind
 * authentication certificates to members. `clientCertificates: required` refuses the handshake
 * without one; `optional` lets clients without a certificate use tokens.
 *
 * Rotation: the server's certificate, key and the client CA are re-read on SIGHUP and apply to new
 * connections (open ones keep theirs); a system's new certificate is added to its catalogue entry
 * next to the old one, and the old one removed once the system has switched (catalogue reload).
 */
import { readFile } from 'node:fs/promises';
import { createSecureContext, type TLSSocket } from 'node:tls';
import type { IncomingMessage } from 'node:http';
import { normaliseFingerprint, ValidationError, type Violation } from '../../schema/index.ts';
import type { TlsConfig } from '../config.ts';

export interface TlsMaterial {
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly ca?: Buffer;
}

/** Reads and checks the TLS files: each readable, the key matching the certificate. Names the field on error. */
export async function readTlsMaterial(tls: TlsConfig): Promise<TlsMaterial> {
  const problems: Violation[] = [];
  const read = async (file: string, field: string) => {
    try {
      return await readFile(file);
    } catch (error) {
      problems.push({ where: 'config', path: `/server/tls/${field}`, rule: 'readable', message: `cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? 'error'})` });
      return undefined;
    }
  };
  const [cert, key, ca] = await Promise.all([read(tls.certFile, 'certFile'), read(tls.keyFile, 'keyFile'), tls.clientCaFile ? read(tls.clientCaFile, 'clientCaFile') : undefined]);
  if (problems.length > 0) throw new ValidationError(problems);
  const material: TlsMaterial = { cert: cert!, key: key!, ...(ca ? { ca } : {}) };
  try {
    createSecureContext(material);
  } catch (error) {
    throw new ValidationError([{ where: 'config', path: '/server/tls', rule: 'tls', message: `the certificate, key or client CA is not usable: ${(error as Error).message}` }]);
  }
  return material;
}

/** node:https server options for the material and settings. */
export function httpsOptions(tls: TlsConfig, material: TlsMaterial) {
  const mutual = material.ca !== undefined;
  return {
    ...material,
    minVersion: 'TLSv1.2' as const,
    requestCert: mutual,
    rejectUnauthorized: mutual && tls.clientCertificates === 'required',
  };
}

export type PeerCertificate =
  | { readonly state: 'none' }
  | { readonly state: 'verified'; readonly fingerprint: string }
  /** Presented but not issued by the client CA (or expired, …): `reason` is OpenSSL's code. */
  | { readonly state: 'rejected'; readonly reason: string };

/** The client certificate of the connection a request came on. */
export function peerCertificate(serverContext: unknown): PeerCertificate {
  const socket = (serverContext as { req?: IncomingMessage } | undefined)?.req?.socket as TLSSocket | undefined;
  if (!socket || typeof socket.getPeerCertificate !== 'function') return { state: 'none' };
  const cert = socket.getPeerCertificate();
  if (!cert || !cert.fingerprint256) return { state: 'none' };
  if (!socket.authorized) return { state: 'rejected', reason: String(socket.authorizationError ?? 'UNVERIFIED') };
  return { state: 'verified', fingerprint: normaliseFingerprint(cert.fingerprint256) };
}
