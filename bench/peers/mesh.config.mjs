/**
 * (d) of the benchmark: the GraphQL Mesh composition of the sample REST departments, as
 * `mesh-compose` reads it (export `composeConfig`). Each department serves an OpenAPI description
 * of its batch-lookup protocol at GET /openapi.json (demo/systems/rest-department.ts), one POST
 * path per dataset with operationId `{dataset}BatchLookup`. The POST operations only read, so they
 * are made query fields: root fields of a query run in parallel, a mutation's one after another.
 *
 * The departments' URLs come from the environment (`{env.…}` is Mesh's interpolation), the same
 * variables the hub's demo catalogue reads. By hand, with the departments running:
 *
 *     DEMO_GONGAN_URL=http://127.0.0.1:4101 DEMO_MINZHENG_URL=http://127.0.0.1:4102 \
 *       npx --prefix bench/peers mesh-compose -c bench/peers/mesh.config.mjs -o supergraph.graphql
 */
import { defineConfig } from '@graphql-mesh/compose-cli';
import { loadOpenAPISubgraph } from '@omnigraph/openapi';

/** Datasets of each department (demo/data.ts), whose lookups become query fields. */
export const DEPARTMENTS = {
  gongan: { url: '{env.DEMO_GONGAN_URL}', datasets: ['hukou', 'vehicle', 'face', 'criminal'] },
  minzheng: { url: '{env.DEMO_MINZHENG_URL}', datasets: ['marriage'] },
};

export const composeConfig = defineConfig({
  subgraphs: Object.entries(DEPARTMENTS).map(([name, { url, datasets }]) => ({
    sourceHandler: loadOpenAPISubgraph(name, {
      source: `${url}/openapi.json`,
      selectQueryOrMutationField: datasets.map((dataset) => ({ type: 'query', fieldName: `${dataset}BatchLookup` })),
    }),
  })),
});
