/**
 * Which items of a resource a query asks for, read from the field's selection set (following
 * fragments), so connectors fetch only those.
 */
import { Kind, type FieldNode, type GraphQLResolveInfo, type SelectionSetNode } from 'graphql';

/** Calls `each` for every field selected directly under the resolved field, following fragments. */
function forEachSelected(info: GraphQLResolveInfo, each: (field: FieldNode) => void): void {
  const visit = (set: SelectionSetNode | undefined, seen: Set<string>) => {
    if (!set) return;
    for (const s of set.selections) {
      if (s.kind === Kind.FIELD) {
        each(s);
      } else if (s.kind === Kind.INLINE_FRAGMENT) {
        visit(s.selectionSet, seen);
      } else if (s.kind === Kind.FRAGMENT_SPREAD && !seen.has(s.name.value)) {
        seen.add(s.name.value);
        visit(info.fragments[s.name.value]?.selectionSet, seen);
      }
    }
  };
  for (const node of info.fieldNodes) visit(node.selectionSet, new Set());
}

/** Per field-node list: every subject of a `persons` list shares one, so it is read once. */
const cache = new WeakMap<readonly FieldNode[], string[]>();

export function selectedFields(info: GraphQLResolveInfo): string[] {
  const cached = cache.get(info.fieldNodes);
  if (cached) return cached;
  const out = new Set<string>();
  forEachSelected(info, (field) => {
    if (!field.name.value.startsWith('__')) out.add(field.name.value);
  });
  const fields = [...out].sort();
  cache.set(info.fieldNodes, fields);
  return fields;
}

const keys = new WeakMap<readonly FieldNode[], ReadonlyMap<string, readonly string[]>>();

/** Item name → the keys it has in the response (its aliases, or its name), from the field's selection set. */
export function responseKeys(info: GraphQLResolveInfo): ReadonlyMap<string, readonly string[]> {
  const cached = keys.get(info.fieldNodes);
  if (cached) return cached;
  const out = new Map<string, string[]>();
  forEachSelected(info, (field) => {
    const key = field.alias?.value ?? field.name.value;
    const list = out.get(field.name.value) ?? [];
    if (!list.includes(key)) list.push(key);
    out.set(field.name.value, list);
  });
  keys.set(info.fieldNodes, out);
  return out;
}
