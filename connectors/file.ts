/**
 * File connector (kind `file`): CSV or JSONL files a department drops into a directory (前置文件).
 *
 * - dataset = a file name inside `directory` (resolved against the hub's config directory). A name
 *   with `/`, `\`, `..` or a NUL is a config error (ValidationError), never a path to follow.
 * - Format from `format`, else from the extension: `.csv` → csv, `.jsonl` / `.ndjson` → jsonl.
 * - CSV: the header row names the fields; every value is a string, an empty cell is `null`.
 *   JSONL: one JSON object per line; blank lines are skipped.
 * - Each file is loaded whole into memory and indexed by key field on first use of that key
 *   field. A call stats the file unless a stat of it started less than `recheckMilliseconds` ago
 *   (default 1000: a replaced file is served within a second; 0: every call); a changed mtime,
 *   size or inode triggers a reload, and concurrent calls share one reload. A failed stat or load
 *   is not cached.
 * - A missing file or a malformed line is an UpstreamError naming the file and the line number,
 *   never the line's content (it may hold personal data).
 * - Two rows of one key that differ in an asked item are a conflict: neither is served for that
 *   key (ConflictingRecordsError); identical rows count once.
 * - Freshness (`lastChanged`): the file's modification time, the moment the department last wrote it.
 * - The connector has no `timeoutMs` of its own: the registry's common `timeoutMs` (resilience.ts)
 *   bounds each call, e.g. on a stalled network mount.
 */
import { createReadStream } from 'node:fs';
import { access, constants, stat } from 'node:fs/promises';
import { extname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { parse as parseCsv } from 'csv-parse';
import { ValidationError } from '../schema/ajv.ts';
import { answerInOrder, distinctKeys, indexByKey, isRecord, throwIfCallerAborted, type KeyedRecords } from './batch.ts';
import type {
  ConfigSchema, Connector, ConnectorContext, ConnectorFactory, FetchRequest, HealthStatus, SourceChange, UpstreamRecord,
} from './types.ts';
import { UpstreamError } from './types.ts';

export type FileFormat = 'csv' | 'jsonl';

export interface FileConnectorConfig {
  /** Absolute directory (the factory resolves the configured one against `context.baseDir`). */
  readonly directory: string;
  readonly format?: FileFormat;
  /** How long a stat of a file is trusted (ms, default 1000; 0: every call stats it). */
  readonly recheckMilliseconds?: number;
}

export const fileConfigSchema: ConfigSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['directory'],
  properties: {
    directory: { type: 'string', minLength: 1, description: 'directory holding the files; relative to the config directory' },
    format: { enum: ['csv', 'jsonl'], description: 'file format; by default from the file extension' },
    recheckMilliseconds: {
      type: 'integer', minimum: 0, maximum: 3_600_000,
      description: 'how long a stat of a file is trusted: a replaced file is served within this long (default 1000; 0: every call stats it)',
    },
  },
};

const EXTENSION_FORMATS: Readonly<Record<string, FileFormat>> = { '.csv': 'csv', '.jsonl': 'jsonl', '.ndjson': 'jsonl' };

interface Loaded {
  readonly stamp: string;
  readonly records: readonly UpstreamRecord[];
  /** keyField → key → record, built on first use of each key field. */
  readonly indexes: Map<string, KeyedRecords>;
}

interface FileState {
  /** The last stat that succeeded: when it started (performance.now()) and what it found. */
  checked?: { readonly at: number; readonly stamp: string };
  loaded?: Loaded;
  loading?: { readonly stamp: string; readonly promise: Promise<Loaded> };
}

/** Thrown inside a parser to name the failing line; turned into an UpstreamError by the caller. */
class LineProblem extends Error {
  readonly line: number;
  constructor(line: number, problem: string) {
    super(problem);
    this.line = line;
  }
}

async function readJsonl(path: string): Promise<UpstreamRecord[]> {
  const stream = createReadStream(path, { encoding: 'utf8' });
  const lines = createInterface({ input: stream, crlfDelay: Infinity });
  const records: UpstreamRecord[] = [];
  let lineNumber = 0;
  try {
    for await (const raw of lines) {
      lineNumber += 1;
      const line = lineNumber === 1 ? raw.replace(/^\uFEFF/, '') : raw;
      if (line.trim() === '') continue;
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch {
        throw new LineProblem(lineNumber, 'is not valid JSON');
      }
      if (!isRecord(value)) throw new LineProblem(lineNumber, 'is not a JSON object');
      records.push(value);
    }
  } finally {
    lines.close();
    stream.destroy();
  }
  return records;
}

async function readCsv(path: string): Promise<UpstreamRecord[]> {
  const stream = createReadStream(path);
  const parser = stream.pipe(parseCsv({ bom: true, skip_empty_lines: true, info: true }));
  stream.on('error', (error) => parser.destroy(error));
  const records: UpstreamRecord[] = [];
  let header: string[] | undefined;
  try {
    for await (const item of parser as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
      if (header === undefined) {
        header = item.record;
        const seen = new Set<string>();
        for (const name of header) {
          if (name === '') throw new LineProblem(item.info.lines, 'has an empty column name in the header');
          if (seen.has(name)) throw new LineProblem(item.info.lines, 'repeats a column name in the header');
          seen.add(name);
        }
        continue;
      }
      const names = header;
      records.push(Object.fromEntries(item.record.map((value, i) => [names[i] ?? String(i), value === '' ? null : value])));
    }
  } catch (error) {
    const { code, lines } = error as { code?: unknown; lines?: unknown };
    if ((typeof code === 'string' && code.startsWith('CSV_')) || code === 'INVALID_OPENING_QUOTE') {
      // Never the CsvError's message or context: they quote the offending cells.
      throw new LineProblem(typeof lines === 'number' ? lines : 0, `is malformed CSV (${code})`);
    }
    throw error;
  } finally {
    stream.destroy();
  }
  return records;
}

export class FileConnector implements Connector {
  readonly name: string;
  readonly kind = 'file';
  readonly #config: FileConnectorConfig;
  readonly #files = new Map<string, FileState>();
  readonly #recheckMs: number;
  #closed = false;

  constructor(name: string, config: FileConnectorConfig) {
    this.name = name;
    this.#config = config;
    this.#recheckMs = config.recheckMilliseconds ?? 1000;
  }

  async fetchMany(request: FetchRequest): Promise<Array<UpstreamRecord | null>> {
    throwIfCallerAborted(request.signal);
    const file = this.#checkDataset(request.dataset);
    const format = this.#formatOf(file);
    if (this.#closed) throw new UpstreamError(this.name, `file connector "${this.name}" is closed`);
    if (distinctKeys(request.keys).length === 0) return [];
    const loaded = await this.#load(file, format);
    throwIfCallerAborted(request.signal);
    let index = loaded.indexes.get(request.keyField);
    if (index === undefined) {
      index = indexByKey(loaded.records, request.keyField);
      loaded.indexes.set(request.keyField, index);
    }
    return answerInOrder(request, index, this.name);
  }

  #configError(path: string, rule: string, message: string): ValidationError {
    return new ValidationError([{ where: `connector "${this.name}"`, path, rule, message }]);
  }

  #checkDataset(dataset: string): string {
    if (dataset === '' || dataset === '.' || /[/\\\0]/.test(dataset) || dataset.includes('..')) {
      throw this.#configError('/dataset', 'pattern', 'must be a file name inside the directory (no "/", "\\" or "..")');
    }
    return dataset;
  }

  #formatOf(file: string): FileFormat {
    const format = this.#config.format ?? EXTENSION_FORMATS[extname(file).toLowerCase()];
    if (format === undefined) {
      throw this.#configError('/format', 'required', `is required: the extension of "${file}" is not .csv, .jsonl or .ndjson`);
    }
    return format;
  }

  async #load(file: string, format: FileFormat): Promise<Loaded> {
    const path = join(this.#config.directory, file);
    const what = `file connector "${this.name}": file "${file}"`;
    let state = this.#files.get(file);
    if (state === undefined) {
      state = {};
      this.#files.set(file, state);
    }
    const now = performance.now();
    let stamp: string;
    if (state.checked !== undefined && now - state.checked.at < this.#recheckMs) {
      stamp = state.checked.stamp;
    } else {
      try {
        const info = await stat(path);
        if (!info.isFile()) throw new UpstreamError(this.name, `${what} is not a regular file`);
        stamp = `${info.mtimeMs}:${info.size}:${info.ino}`;
      } catch (error) {
        state.checked = undefined;
        if (error instanceof UpstreamError) throw error;
        throw this.#readError(what, error);
      }
      if (state.checked === undefined || state.checked.at <= now) state.checked = { at: now, stamp };
    }
    if (state.loaded?.stamp === stamp) return state.loaded;
    if (state.loading?.stamp === stamp) return state.loading.promise;

    const current = state;
    const promise: Promise<Loaded> = (async () => {
      try {
        const records = format === 'csv' ? await readCsv(path) : await readJsonl(path);
        return { stamp, records, indexes: new Map() };
      } catch (error) {
        if (error instanceof LineProblem) throw new UpstreamError(this.name, `${what} line ${error.line} ${error.message}`);
        throw this.#readError(what, error);
      }
    })();
    current.loading = { stamp, promise };
    promise.then(
      (loaded) => {
        if (current.loading?.promise !== promise) return;
        current.loaded = loaded;
        current.loading = undefined;
      },
      () => {
        if (current.loading?.promise === promise) current.loading = undefined;
      },
    );
    return promise;
  }

  #readError(what: string, error: unknown): UpstreamError {
    const code = (error as { code?: unknown } | null)?.code;
    if (code === 'ENOENT') return new UpstreamError(this.name, `${what} does not exist`);
    return new UpstreamError(this.name, `${what} could not be read (${typeof code === 'string' ? code : 'unknown error'})`, { cause: error });
  }

  /** The file's modification time: when the department last wrote the dataset. */
  async lastChanged(request: { readonly dataset: string; readonly signal?: AbortSignal }): Promise<SourceChange | null> {
    throwIfCallerAborted(request.signal);
    const file = this.#checkDataset(request.dataset);
    if (this.#closed) throw new UpstreamError(this.name, `file connector "${this.name}" is closed`);
    const what = `file connector "${this.name}": file "${file}"`;
    try {
      const info = await stat(join(this.#config.directory, file));
      if (!info.isFile()) throw new UpstreamError(this.name, `${what} is not a regular file`);
      return { at: info.mtime, basis: `modification time of file "${file}"` };
    } catch (error) {
      if (error instanceof UpstreamError) throw error;
      throw this.#readError(what, error);
    }
  }

  async health(): Promise<HealthStatus> {
    if (this.#closed) return { ok: false, detail: 'connector is closed' };
    try {
      const info = await stat(this.#config.directory);
      if (!info.isDirectory()) return { ok: false, detail: 'configured directory is not a directory' };
      await access(this.#config.directory, constants.R_OK);
      return { ok: true, detail: 'directory is readable' };
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      return { ok: false, detail: `directory is not readable (${typeof code === 'string' ? code : 'unknown error'})` };
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#files.clear();
  }
}

export const fileConnectorFactory: ConnectorFactory = {
  kind: 'file',
  configSchema: fileConfigSchema,
  create(name: string, config: Record<string, unknown>, context: ConnectorContext): Connector {
    const format = config['format'] as FileFormat | undefined;
    const recheck = config['recheckMilliseconds'] as number | undefined;
    return new FileConnector(name, {
      directory: resolve(context.baseDir, String(config['directory'])),
      ...(format === undefined ? {} : { format }),
      ...(recheck === undefined ? {} : { recheckMilliseconds: recheck }),
    });
  },
};
