/**
 * Reading one YAML (or JSON) file as a boundary input: an unreadable file or a syntax error
 * becomes a ValidationError naming the file (and line and column), never an exception trace.
 */
import { readFile } from 'node:fs/promises';
import { parseDocument } from 'yaml';
import { ValidationError } from './ajv.ts';

/** The file's content as plain data; `where` is how messages name the file. */
export async function readYamlFile(path: string, where: string = path): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new ValidationError([{ where, path: '', rule: 'readable', message: `cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})` }]);
  }
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ValidationError(doc.errors.map((e) => ({
      where: e.linePos ? `${where}:${e.linePos[0].line}:${e.linePos[0].col}` : where,
      path: '',
      rule: 'syntax',
      message: e.message.split('\n')[0] ?? 'syntax error',
    })));
  }
  return doc.toJS();
}
