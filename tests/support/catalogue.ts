/**
 * A writable copy of the demo catalogue for tests that break it on purpose.
 */
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEMO_CATALOGUE } from './hub.ts';

export interface CatalogueCopy {
  readonly dir: string;
  edit(file: string, change: (text: string) => string): Promise<void>;
  write(file: string, text: string): Promise<void>;
  remove(): Promise<void>;
}

export async function copyDemoCatalogue(): Promise<CatalogueCopy> {
  const dir = await mkdtemp(join(tmpdir(), 'hub-catalogue-'));
  await cp(DEMO_CATALOGUE, dir, { recursive: true });
  return {
    dir,
    async edit(file, change) {
      const path = join(dir, file);
      const before = await readFile(path, 'utf8');
      const after = change(before);
      if (after === before) throw new Error(`edit of ${file} changed nothing`);
      await writeFile(path, after);
    },
    write: (file, text) => writeFile(join(dir, file), text),
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}
