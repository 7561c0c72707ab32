/**
 * `hub catalog validate <dir>`: check a catalogue directory without starting anything.
 */
import { loadHubCatalogue } from '../runtime.ts';

export async function validateCatalogue(dir: string, out: (line: string) => void): Promise<void> {
  const c = await loadHubCatalogue(dir);
  out(`catalogue ${dir} is valid: ${c.resources.length} resources, ${c.purposes.length} purposes, ${c.departments.length} departments, ${c.systems.length} systems, ${c.grants.length} grants, ${c.connectors.length} connectors`);
}
