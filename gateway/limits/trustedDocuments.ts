/**
 * Trusted documents (可信操作清单): a department system may send only the operations registered for
 * it. The catalogue is one YAML (or JSON) file, `trustedDocuments.file`:
 *
 *     documents:                      # SHA-256 (hex) of the exact document text → the text
 *       5f0c…e1: "query Dibao($id: String!) { access(…) { person(idNumber: $id) { hukou { name } } } }"
 *     systems:                        # system code → hashes of the operations it may send
 *       mz-dibao: [5f0c…e1]
 *
 * A system sends the full text (its hash must be registered for it) or only the hash, in the
 * persisted-query form clients already know: `extensions.persistedQuery.sha256Hash`. Modes:
 * `off`; `log` (rollout: an unregistered operation is logged with its hash and served);
 * `enforce` (an unregistered operation is refused: OPERATION_NOT_TRUSTED). Only system principals
 * are bound; officers, auditors and admins use the management API freely.
 */
import { hash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { ValidationError, type Violation } from '../../schema/index.ts';

export type TrustedMode = 'off' | 'log' | 'enforce';

export const documentHash = (text: string): string => hash('sha256', text, 'hex');

export interface TrustedDocuments {
  /** The registered text of a hash, if any system has it. */
  text(hash: string): string | undefined;
  /** Whether a hash is registered for a system. */
  allowed(system: string, hash: string): boolean;
}

const HASH = /^[0-9a-f]{64}$/;

/** Parses the catalogue; every hash is checked against its text, so a mistyped entry stops start-up. */
export function parseTrustedDocuments(raw: unknown, where: string): TrustedDocuments {
  const violations: Violation[] = [];
  const v = (path: string, rule: string, message: string) => violations.push({ where, path, rule, message });
  const root = (typeof raw === 'object' && raw !== null && !Array.isArray(raw) ? raw : {}) as Record<string, unknown>;
  if (root !== raw) v('', 'type', 'must be a mapping with documents and systems');
  const documents = new Map<string, string>();
  const docs = root['documents'] ?? {};
  if (typeof docs !== 'object' || docs === null || Array.isArray(docs)) v('/documents', 'type', 'must map SHA-256 hashes to document texts');
  else {
    for (const [hash, text] of Object.entries(docs)) {
      if (typeof text !== 'string') v(`/documents/${hash}`, 'type', 'must be the document text');
      else if (!HASH.test(hash)) v(`/documents/${hash}`, 'pattern', 'must be keyed by a lowercase hex SHA-256 (64 digits)');
      else if (documentHash(text) !== hash) v(`/documents/${hash}`, 'hash', `is not the SHA-256 of its text (that is ${documentHash(text)})`);
      else documents.set(hash, text);
    }
  }
  const systems = new Map<string, Set<string>>();
  const bySystem = root['systems'] ?? {};
  if (typeof bySystem !== 'object' || bySystem === null || Array.isArray(bySystem)) v('/systems', 'type', 'must map system codes to lists of hashes');
  else {
    for (const [system, hashes] of Object.entries(bySystem)) {
      if (!Array.isArray(hashes)) { v(`/systems/${system}`, 'type', 'must be a list of hashes'); continue; }
      hashes.forEach((hash: unknown, i) => {
        if (typeof hash !== 'string' || !documents.has(hash)) v(`/systems/${system}/${i}`, 'reference', 'must be the hash of a document listed under documents');
      });
      systems.set(system, new Set(hashes.filter((h): h is string => typeof h === 'string')));
    }
  }
  if (violations.length > 0) throw new ValidationError(violations);
  return {
    text: (hash) => documents.get(hash),
    allowed: (system, hash) => systems.get(system)?.has(hash) ?? false,
  };
}

export function loadTrustedDocuments(file: string): TrustedDocuments {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new ValidationError([{ where: 'config', path: '/trustedDocuments/file', rule: 'readable', message: `cannot read ${file}` }]);
  }
  let raw: unknown;
  try {
    raw = parse(text);
  } catch (error) {
    throw new ValidationError([{ where: file, path: '', rule: 'yaml', message: (error as Error).message }]);
  }
  return parseTrustedDocuments(raw, file);
}
