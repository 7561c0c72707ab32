/**
 * Which items of a resource a query asks for, read from the field's selection set (following
 * fragments), so connectors fetch only those.
 */
import { Kind, type FieldNode, type GraphQLResolveInfo, type SelectionSetNode } from 'graphql';

/** Per field-node list: every subject of a `persons` list shares one, so it is read once. */
const cache = new WeakMap<readonly FieldNode[], string[]>();

export function selectedFields(info: GraphQLResolveInfo): string[] {
  const cached = cache.get(info.fieldNodes);
  if (cached) return cached;
  const out = new Set<string>();
  const visit = (set: SelectionSetNode | undefined, seen: Set<string>) => {
    if (!set) return;
    for (const s of set.selections) {
      if (s.kind === Kind.FIELD) {
        if (!s.name.value.startsWith('__')) out.add(s.name.value);
      } else if (s.kind === Kind.INLINE_FRAGMENT) {
        visit(s.selectionSet, seen);
      } else if (s.kind === Kind.FRAGMENT_SPREAD && !seen.has(s.name.value)) {
        seen.add(s.name.value);
        visit(info.fragments[s.name.value]?.selectionSet, seen);
      }
    }
  };
  for (const node of info.fieldNodes) visit(node.selectionSet, new Set());
  const fields = [...out].sort();
  cache.set(info.fieldNodes, fields);
  return fields;
}
