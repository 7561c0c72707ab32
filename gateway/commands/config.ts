/**
 * `hub config check <file>`: everything `hub serve` checks before it starts, without starting:
 * the config file (every field), the subject-hash and checkpoint-signing keys it names, the
 * catalogue directory, the working-day calendar, the TLS files and the JWT issuers' key set files
 * and departments. Every violation is reported, not just the first.
 */
import { loadConfig, readSigningKey, readSubjectKey, type HubConfig } from '../config.ts';
import { issuerViolations, JwtVerifier } from '../identity/jwt.ts';
import { readTlsMaterial } from '../identity/tls.ts';
import { loadHubCatalogue } from '../runtime.ts';
import { loadWorkCalendar, ValidationError, type Catalogue, type Violation } from '../../schema/index.ts';

async function collect<T>(problems: Violation[], step: () => Promise<T>): Promise<T | undefined> {
  try {
    return await step();
  } catch (error) {
    if (error instanceof ValidationError) problems.push(...error.violations);
    else problems.push({ where: 'hub', path: '', rule: 'readable', message: (error as Error).message });
    return undefined;
  }
}

/** Resolves with the summary lines when all is well; throws ValidationError naming every problem. */
export async function checkConfig(path: string, env: NodeJS.ProcessEnv = process.env): Promise<string[]> {
  const problems: Violation[] = [];
  const config: HubConfig | undefined = await collect(problems, () => loadConfig(path, env));
  if (!config) throw new ValidationError(problems); // nothing more can be checked without it
  await collect(problems, () => readSubjectKey(config, env));
  await collect(problems, () => readSigningKey(config, env));
  const catalogue: Catalogue | undefined = await collect(problems, () => loadHubCatalogue(config.catalogue, env));
  await collect(problems, () => loadWorkCalendar(config.applications.calendar));
  const tls = config.server.tls;
  if (tls) await collect(problems, () => readTlsMaterial(tls));
  await collect(problems, () => JwtVerifier.create(config.auth.jwt.issuers));
  if (catalogue) problems.push(...(issuerViolations(config.auth.jwt.issuers, catalogue)?.violations ?? []));
  if (problems.length > 0) throw new ValidationError(problems);
  return [
    `config ${path} is ok: serves ${tls ? 'https' : 'http'}://${config.server.host}:${config.server.port}${tls?.clientCaFile ? ` (client certificates ${tls.clientCertificates})` : ''}, MongoDB database "${config.mongodb.database}", drain ${config.server.drainSeconds} s`,
    `catalogue ${config.catalogue}: ${catalogue!.resources.length} resources, ${catalogue!.purposes.length} purposes, ${catalogue!.departments.length} departments, ${catalogue!.systems.length} systems, ${catalogue!.grants.length} grants, ${catalogue!.connectors.length} connectors`,
  ];
}
