/**
 * Counts upstream calls in every server the same way: each connector kind is registered again as
 * `counted-<kind>`, whose connectors wrap the real one and count `fetchMany` calls per
 * connector/dataset. The catalogue's connectors are switched to the counted kinds before the
 * server starts, so the hub (which creates its own connectors) counts without any change to it.
 */
import {
  connectorFactory, connectorKinds, createConnector, registerConnectorKind, type Connector, type FetchRequest,
} from '../../connectors/index.ts';
import type { Catalogue } from '../../schema/index.ts';

const PREFIX = 'counted-';

export class CallCounter {
  readonly #counts = new Map<string, number>();

  add(key: string): void {
    this.#counts.set(key, (this.#counts.get(key) ?? 0) + 1);
  }

  snapshot(): Record<string, number> {
    return Object.fromEntries(this.#counts);
  }
}

function counted(inner: Connector, counter: CallCounter): Connector {
  return {
    name: inner.name,
    kind: inner.kind,
    fetchMany(request: FetchRequest) {
      counter.add(`${inner.name}/${request.dataset}`);
      return inner.fetchMany(request);
    },
    health: () => inner.health(),
    close: () => inner.close(),
  };
}

/** Registers `counted-<kind>` for every built-in kind, counting into `counter`. Once per process. */
export function registerCountingKinds(counter: CallCounter): void {
  for (const kind of connectorKinds()) {
    if (kind.startsWith(PREFIX)) continue;
    const factory = connectorFactory(kind);
    if (!factory) continue;
    registerConnectorKind({
      kind: `${PREFIX}${kind}`,
      configSchema: factory.configSchema,
      create: (name, config, context) => counted(factory.create(name, config, context), counter),
      ...(factory.defaultRetries === undefined ? {} : { defaultRetries: factory.defaultRetries }),
      ...(factory.perRequest === true ? { perRequest: true } : {}),
    });
  }
}

/**
 * The catalogue with its connectors switched to the counted kinds, and with `collapse` set on
 * every connector whose kind allows it when given (undefined: as the catalogue says).
 */
export function withCountedConnectors(catalogue: Catalogue, collapse?: boolean): Catalogue {
  const shares = (kind: string) => collapse !== undefined && connectorFactory(kind)?.perRequest !== true;
  return {
    ...catalogue,
    connectors: catalogue.connectors.map((c) => ({
      name: c.name,
      config: { ...c.config, kind: `${PREFIX}${c.config.kind}`, ...(shares(c.config.kind) ? { collapse } : {}) },
    })),
  };
}

/** Connectors of a catalogue by name, for the servers that create their own ((a) and (b)). */
export function createCatalogueConnectors(catalogue: Catalogue, baseDir: string, env: NodeJS.ProcessEnv): Map<string, Connector> {
  return new Map(catalogue.connectors.map((c) => [c.name, createConnector(c.name, c.config, { baseDir, env })]));
}
