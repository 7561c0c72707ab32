#!/usr/bin/env node
/**
 * `hub`: the command line of the 一网共享 hub.
 */
import { randomBytes } from 'node:crypto';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ValidationError } from '../schema/index.ts';
import { validateCatalogue } from './commands/catalog.ts';
import { checkConfig } from './commands/config.ts';
import { runDemo } from './commands/demo.ts';
import { serve } from './commands/serve.ts';
import { createPrincipalToken, formatCredentials, listTokens, parseDuration, revokeTokens, rotateToken } from './commands/token.ts';
import { archive, exportToFile, formatArchive, formatReport, latestCheckpoint, logs, summaries, verifierKey, verify, verifyExportFile } from './commands/audit.ts';
import { noteSigner } from '../audit/index.ts';
import { PRINCIPAL_KINDS, type PrincipalKind } from '../policies/index.ts';
import { MongoNetworkTimeoutError, MongoServerSelectionError } from 'mongodb';
import { ProvisionError } from './mongo/provision.ts';

export const USAGE = `Usage: hub <command> [options]

Commands:
  serve --config <file>                 Serve the hub with a config file (see README, "Configuration")
  demo [--port <n>] [--data-dir <dir>]  Provision MongoDB, start sample departments and serve the demo (npm start);
                                        data is kept in <dir> (default .demo/) across restarts
  catalog validate <dir>                Validate a catalogue directory and report every violation
  config check <file>                   Check a config file as serve does before it starts: every field, the keys
                                        it names, its catalogue and calendar; every violation; exit 1 on any
  token create --config <file> --role <role> [--system <code>] [--id <id>] [--department <code>] [--label <text>]
               [--expires-in <duration>]
                                        Issue a bearer token (printed once, stored hashed) for one role:
                                          system  --system <code>            a registered system (its department)
                                          officer --id <id> --department <c> a catalogued department's data officer
                                          admin | auditor | portal --id <id> [--department <c>]
                                        --system <code> alone means --role system; <id>: 1-64 of A-Z a-z 0-9 _ . @ -
                                        Each issue is recorded in audit_admin, with the label as its reason;
                                        --expires-in 90d (s, m, h, d): the token stops working after that
  token list --config <file> [--system <code> | --id <principal id>] [--role <role>]
                                        List tokens: credential id, role, principal, department, created,
                                        state, label; never the tokens
  token revoke --config <file> (--id <credential id> | --system <code>) [--reason <text>]
                                        Revoke one token, or every token of a system (every hub within a second)
  token rotate --config <file> --id <credential id> [--overlap <duration>] [--reason <text>]
                                        Issue a successor token (printed once) for the same principal; the old
                                        one keeps working for the overlap (default 24h), then expires
  key create [--signing]                Print a new random subject-hash key (64 hex characters); with --signing,
                                        an Ed25519 checkpoint-signing key (hex seed; its verifier key on stderr)
  audit key --config <file>             Print the verifier key of the configured signing key (as GET /audit/key)
  audit checkpoint --config <file> [--log <origin>]
                                        Print the latest signed checkpoint of the access logs (as GET
                                        /audit/checkpoint), or of one log (--log admin: the administrative log)
  audit logs --config <file>            List the access logs (one per hub process): origin, state (open, and
                                        which hub is reading it for adoption; closed; or adopted: signed to
                                        its end by another hub) and start
  audit summaries --config <file> [--to lists|text] [--dry-run]
                                        Write every evidence block's search and statistics summaries in the
                                        configured server's form (lists on MongoDB, text on FerretDB), or the
                                        one given: after moving a trail from FerretDB to MongoDB or back
  audit verify --config <file> [--log <origin>] [--key <verifier key>]
                                        Verify every log (the access logs and admin, the administrative log)
                                        against its signed checkpoints; exit 1 on any problem
  audit verify --file <export.jsonl> --key <verifier key>
                                        Verify an export offline, with only the verifier key
  audit export --config <file> [--format jsonl|csv] [--log <origin>] [--out <file>]
                                        Stream the trail (JSONL with checkpoints: verifiable; CSV: for spreadsheets)
  audit archive --config <file> (--out <file.jsonl> | --dry-run) [--before <date>]
                                        Archive the records past the retention period (audit.retentionDays, 3 years
                                        at least; --before may only be earlier) to a verifiable file, then remove
                                        them; run it from cron. What remains still verifies
  help                                  Show this text

Environment: MONGODB_URI, MONGODB_DATABASE, HOST, PORT, HUB_SUBJECT_KEY, HUB_AUDIT_KEY, LOG_LEVEL override the config file.`;

class UsageError extends Error {}

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

function parse(args: string[], options: Record<string, { type: 'string' }>, positionals = 0) {
  let parsed;
  try {
    parsed = parseArgs({ args, options, allowPositionals: positionals > 0, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (parsed.positionals.length > positionals) throw new UsageError(`unexpected argument "${parsed.positionals[positionals]}"`);
  return parsed;
}

function required(values: Record<string, string | boolean | undefined>, name: string): string {
  const v = values[name];
  if (typeof v !== 'string' || v === '') throw new UsageError(`--${name} is required`);
  return v;
}

/** A duration option (`90d`, `12h`, `30m`, `45s`) in seconds, or a usage error naming the option. */
function durationOption(raw: string, option: string): number {
  const seconds = parseDuration(raw);
  if (seconds === undefined) throw new UsageError(`${option} must be a duration such as 30m, 24h or 90d, got "${raw}"`);
  return seconds;
}

export async function main(argv: string[], out: (line: string) => void = console.log): Promise<number> {
  const [command, sub, ...rest] = argv;
  switch (command) {
    case 'serve': {
      const { values } = parse(argv.slice(1), { config: { type: 'string' } });
      await serve(required(values, 'config'));
      return 0;
    }
    case 'demo': {
      const { values } = parse(argv.slice(1), { port: { type: 'string' }, 'data-dir': { type: 'string' } });
      const raw = values.port ?? process.env['PORT'] ?? '4000';
      if (!/^[0-9]{1,5}$/.test(raw) || Number(raw) > 65535) throw new UsageError(`port must be 0-65535, got "${raw}"`);
      const dataDir = values['data-dir'];
      await runDemo({ root: ROOT, port: Number(raw), out, ...(dataDir ? { dataDir } : {}) });
      return 0;
    }
    case 'catalog': {
      if (sub !== 'validate') throw new UsageError(sub ? `unknown catalog command "${sub}"` : 'catalog needs a command: validate');
      const { positionals } = parse(rest, {}, 1);
      if (!positionals[0]) throw new UsageError('catalog validate needs a catalogue directory');
      await validateCatalogue(positionals[0], out);
      return 0;
    }
    case 'config': {
      if (sub !== 'check') throw new UsageError(sub ? `unknown config command "${sub}"` : 'config needs a command: check');
      const { positionals } = parse(rest, {}, 1);
      if (!positionals[0]) throw new UsageError('config check needs a config file');
      try {
        for (const line of await checkConfig(positionals[0])) out(line);
        return 0;
      } catch (error) {
        if (!(error instanceof ValidationError)) throw error;
        const n = error.violations.length;
        console.error(`hub: ${positionals[0]} is not ready to serve: ${n} problem${n === 1 ? '' : 's'}\n${error.message}`);
        return 1;
      }
    }
    case 'token': {
      if (sub === 'create') {
        const { values } = parse(rest, {
          config: { type: 'string' }, role: { type: 'string' }, system: { type: 'string' }, id: { type: 'string' }, department: { type: 'string' }, label: { type: 'string' },
          'expires-in': { type: 'string' },
        });
        const expiresAt = values['expires-in'] === undefined ? undefined : new Date(Date.now() + durationOption(values['expires-in'], '--expires-in') * 1000);
        const configPath = required(values, 'config');
        const role = values.role ?? (values.system !== undefined ? 'system' : undefined);
        if (role === undefined) throw new UsageError('token create needs --role (system, officer, admin, auditor or portal)');
        if (!PRINCIPAL_KINDS.includes(role as PrincipalKind)) throw new UsageError(`--role must be one of ${PRINCIPAL_KINDS.join(', ')}, got "${role}"`);
        const kind = role as PrincipalKind;
        if (kind === 'system') {
          if (values.id !== undefined) throw new UsageError('a system token is named by --system <code>, not --id');
          const system = required(values, 'system');
          out(await createPrincipalToken(configPath, { kind, id: system, department: values.department ?? '', label: values.label, expiresAt }));
          return 0;
        }
        if (values.system !== undefined) throw new UsageError(`--system is for --role system; ${kind} tokens are named by --id`);
        const id = required(values, 'id');
        if (kind === 'officer') required(values, 'department');
        out(await createPrincipalToken(configPath, { kind, id, department: values.department ?? '', label: values.label, expiresAt }));
        return 0;
      }
      if (sub === 'list') {
        const { values } = parse(rest, { config: { type: 'string' }, system: { type: 'string' }, id: { type: 'string' }, role: { type: 'string' } });
        if (values.role !== undefined && !PRINCIPAL_KINDS.includes(values.role as PrincipalKind)) throw new UsageError(`--role must be one of ${PRINCIPAL_KINDS.join(', ')}`);
        const list = await listTokens(required(values, 'config'), { principalId: values.system ?? values.id, role: values.role as PrincipalKind | undefined });
        for (const line of formatCredentials(list)) out(line);
        return 0;
      }
      if (sub === 'revoke') {
        const { values } = parse(rest, { config: { type: 'string' }, id: { type: 'string' }, system: { type: 'string' }, reason: { type: 'string' } });
        if ((values.id === undefined) === (values.system === undefined)) throw new UsageError('token revoke needs exactly one of --id or --system');
        const target = values.id !== undefined ? { id: values.id } : { principalId: values.system!, kind: 'system' as const };
        const revoked = await revokeTokens(required(values, 'config'), target, values.reason);
        out(revoked.length ? `revoked ${revoked.join(', ')}` : 'no active token matched');
        return revoked.length ? 0 : 1;
      }
      if (sub === 'rotate') {
        const { values } = parse(rest, { config: { type: 'string' }, id: { type: 'string' }, overlap: { type: 'string' }, reason: { type: 'string' } });
        const id = required(values, 'id');
        const overlapSeconds = values.overlap === undefined ? 86_400 : durationOption(values.overlap, '--overlap');
        const rotated = await rotateToken(required(values, 'config'), id, overlapSeconds, values.reason);
        out(rotated.token);
        process.stderr.write(`credential ${rotated.credential.id} issued; ${rotated.previous.id} keeps working until ${rotated.previous.expiresAt!.toISOString()}\n`);
        return 0;
      }
      throw new UsageError(sub ? `unknown token command "${sub}"` : 'token needs a command: create, list, revoke or rotate');
    }
    case 'key': {
      if (sub !== 'create') throw new UsageError(sub ? `unknown key command "${sub}"` : 'key needs a command: create');
      const signing = rest.includes('--signing');
      const { values } = parse(rest.filter((a) => a !== '--signing'), { name: { type: 'string' } });
      const key = randomBytes(32).toString('hex');
      out(key);
      if (signing) console.error(`verifier key: ${noteSigner(values.name ?? 'yiwang-hub', key).verifierKey}`);
      return 0;
    }
    case 'audit': {
      const dryRun = rest.includes('--dry-run');
      const { values } = parse(rest.filter((a) => a !== '--dry-run'), {
        config: { type: 'string' }, log: { type: 'string' }, key: { type: 'string' }, file: { type: 'string' }, format: { type: 'string' }, out: { type: 'string' },
        before: { type: 'string' }, to: { type: 'string' },
      });
      if (sub === 'verify' && values.file !== undefined) {
        const report = await verifyExportFile(values.file, required(values, 'key'));
        for (const line of formatReport(report)) out(line);
        return report.ok ? 0 : 1;
      }
      const configPath = required(values, 'config');
      const log = values.log;
      switch (sub) {
        case 'key':
          out(await verifierKey(configPath));
          return 0;
        case 'checkpoint': {
          const note = await latestCheckpoint(configPath, log);
          if (!note) {
            console.error(`hub: no checkpoint${log ? ` of log ${log}` : ''} yet`);
            return 1;
          }
          out(note.replace(/\n$/, ''));
          return 0;
        }
        case 'logs':
          for (const l of await logs(configPath)) out(l);
          return 0;
        case 'export': {
          const format = values.format ?? 'jsonl';
          if (format !== 'jsonl' && format !== 'csv') throw new UsageError(`--format must be jsonl or csv, got "${format}"`);
          await exportToFile(configPath, { format, log, out: values.out });
          return 0;
        }
        case 'archive': {
          if (!dryRun && values.out === undefined) throw new UsageError('audit archive needs --out <file> (or --dry-run)');
          for (const line of formatArchive(await archive(configPath, { out: values.out, before: values.before, dryRun }), dryRun)) out(line);
          return 0;
        }
        case 'summaries': {
          const to = values.to;
          if (to !== undefined && to !== 'lists' && to !== 'text') throw new UsageError(`--to must be lists or text, got "${to}"`);
          out(await summaries(configPath, { to: to === undefined ? undefined : to === 'lists' ? 'fields' : 'text', dryRun }));
          return 0;
        }
        case 'verify': {
          const report = await verify(configPath, { log, key: values.key });
          for (const line of formatReport(report)) out(line);
          return report.ok ? 0 : 1;
        }
        default:
          throw new UsageError(sub ? `unknown audit command "${sub}"` : 'audit needs a command: key, checkpoint, logs, summaries, verify, export or archive');
      }
    }
    case 'help':
    case '--help':
    case '-h':
      out(USAGE);
      return 0;
    default:
      throw new UsageError(command ? `unknown command "${command}"` : 'no command given');
  }
}

/** Runs the CLI; every failure becomes a message and a non-zero exit code, never a stack trace. */
export async function run(argv: string[]): Promise<number> {
  try {
    return await main(argv);
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`hub: ${error.message}\n\n${USAGE}`);
      return 2;
    }
    if (error instanceof ValidationError) {
      console.error(`hub: invalid input\n${error.message}`);
      return 1;
    }
    if (error instanceof ProvisionError) {
      console.error(`hub: cannot provide MongoDB\n${error.message}`);
      return 1;
    }
    if (error instanceof MongoServerSelectionError || error instanceof MongoNetworkTimeoutError) {
      // No server to send a command to, or one that stopped answering: never a wait without end.
      console.error(`hub: MongoDB did not answer (${error.message}); check that it runs and answers at mongodb.uri (commands wait mongodb.timeoutMs to reach it, and give up on an answer after 3 × that)`);
      return 1;
    }
    const e = error as NodeJS.ErrnoException;
    console.error(`hub: ${e.code === 'EADDRINUSE' ? 'the port is already in use; set PORT or --port' : e.message ?? String(error)}`);
    return 1;
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = await run(process.argv.slice(2));
}
