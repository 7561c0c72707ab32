/**
 * A bad catalogue is refused whole, with a message naming the file, the path and the rule broken.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { loadHubCatalogue } from '../../gateway/runtime.ts';
import { ValidationError } from '../../schema/index.ts';
import { copyDemoCatalogue, type CatalogueCopy } from '../support/catalogue.ts';
import { DEMO_CATALOGUE } from '../support/hub.ts';

let copy: CatalogueCopy | undefined;
afterEach(async () => {
  await copy?.remove();
  copy = undefined;
});

async function refusal(edit: (c: CatalogueCopy) => Promise<void>, env: NodeJS.ProcessEnv = {}): Promise<string> {
  copy = await copyDemoCatalogue();
  await edit(copy);
  const error = await loadHubCatalogue(copy.dir, env).then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(ValidationError);
  return (error as ValidationError).message;
}

describe('catalogue', () => {
  it('loads the demo catalogue', async () => {
    const c = await loadHubCatalogue(DEMO_CATALOGUE, {});
    expect(c.resources.map((r) => r.code)).toContain('GA-HUKOU');
    expect(c.resources.find((r) => r.code === 'GA-HUKOU')?.items.find((i) => i.name === 'gender')?.mask).toBe('none');
    expect(c.connectors.find((x) => x.name === 'gongan-rest')?.config['baseUrl']).toBe('http://127.0.0.1:4101');
  });

  it('names the file, path and rule of a missing property', async () => {
    const message = await refusal((c) => c.edit('resources/ga-hukou.yaml', (t) => t.replace(/^binding:.*$/m, '')));
    expect(message).toMatch(/resources\/ga-hukou\.yaml: \/binding is required \(rule: required\)/);
  });

  it('lists the allowed values of an enum', async () => {
    const message = await refusal((c) => c.edit('resources/mz-marriage.yaml', (t) => t.replace('sharing: conditional', 'sharing: sometimes')));
    expect(message).toContain('resources/mz-marriage.yaml: /sharing must be one of "unconditional", "conditional", "none" (rule: enum)');
  });

  it('requires a legal basis for a resource that is not shared', async () => {
    const message = await refusal((c) => c.edit('resources/ga-criminal.yaml', (t) => t.replace(/^legalBasis:.*$/m, '')));
    expect(message).toMatch(/ga-criminal\.yaml: \/legalBasis is required/);
  });

  it('names a grant item that the resource lacks', async () => {
    const message = await refusal((c) => c.edit('grants.yaml', (t) => t.replace('{ name: certificateNo, access: clear }', '{ name: bloodType, access: clear }')));
    expect(message).toMatch(/grants\.yaml: \/0\/items\/0\/name resource "WJ-BIRTH-CERT" has no item "bloodType" \(rule: reference\)/);
  });

  it('refuses a grant of a resource that is not shared', async () => {
    const message = await refusal((c) => c.edit('grants.yaml', (t) => t.replace('resource: MZ-MARRIAGE', 'resource: GA-CRIMINAL').replace(/maritalStatus|registeredAt|spouseName/g, 'caseCount')));
    expect(message).toMatch(/grants\.yaml: \/5\/resource .*不予共享/);
  });

  it('names the line of a YAML syntax error', async () => {
    const message = await refusal((c) => c.write('purposes.yaml', '- code: "x\n  name: [unclosed\n'));
    expect(message).toMatch(/purposes\.yaml:\d+:\d+: \/ .*\(rule: syntax\)/);
  });

  it('refuses a connector config that breaks its kind\'s schema', async () => {
    const message = await refusal((c) => c.edit('connectors.yaml', (t) => t.replace('timeoutMs: 3000', 'timeoutMs: soon')));
    expect(message).toMatch(/connectors\.yaml: \/gongan-rest\/timeoutMs must be integer/);
  });

  it('refuses an unknown connector kind and lists the known ones', async () => {
    const message = await refusal((c) => c.edit('connectors.yaml', (t) => t.replace('kind: mongodb', 'kind: oracle')));
    expect(message).toMatch(/connectors\.yaml: \/renshe-mongo\/kind must be one of "file", "hub", "mongodb", "mysql", "postgres", "rest" \(unknown connector kind "oracle"\)/);
  });

  it('refuses an environment variable that is not set and has no default', async () => {
    const message = await refusal((c) => c.edit('connectors.yaml', (t) => t.replace('${DEMO_GONGAN_URL:-http://127.0.0.1:4101}', '${GONGAN_URL}')));
    expect(message).toContain('connectors.yaml: /gongan-rest/baseUrl names environment variable GONGAN_URL, which is not set (rule: env)');
  });

  it('refuses two resources with the same GraphQL field', async () => {
    const message = await refusal((c) => c.edit('resources/ga-vehicle.yaml', (t) => t.replace('field: vehicles', 'field: hukou')));
    expect(message).toMatch(/ga-vehicle\.yaml: \/field "hukou" is already used by resource "GA-HUKOU"/);
  });

  it('names references to unknown departments and purposes', async () => {
    const message = await refusal(async (c) => {
      await c.edit('systems.yaml', (t) => t.replace('department: MZ }', 'department: XX }'));
      await c.edit('grants.yaml', (t) => t.replace('purposes: ["440000-CSYJS-001"]', 'purposes: ["NOPE"]'));
    });
    expect(message).toMatch(/systems\.yaml: \/1\/department names unknown department "XX"/);
    expect(message).toMatch(/grants\.yaml: \/0\/purposes\/0 names unknown purpose "NOPE"/);
  });
});
