/**
 * RFC 8785 (JCS) canonical JSON: what access records are hashed and stored as. The JSON
 * Canonicalization Scheme serializes strings and numbers exactly as ECMAScript's JSON.stringify
 * does and orders members by their names' UTF-16 code units; so a record whose members are
 * already in that order (or are put in it) and whose values JSON.stringify and JCS write alike is
 * canonicalized by one native JSON.stringify. Everything else — lone surrogates (JCS refuses them,
 * JSON.stringify escapes them), numbers that are not finite, member names JSON.stringify would
 * reorder (array indices) or an object literal would mishandle (`__proto__`), deeper nesting,
 * `toJSON` other than Date's — goes to the `canonicalize` library, the reference.
 */
import canonicalize from 'canonicalize';

/** JCS of a value, or throws (lone surrogate, non-finite number, cycle…). */
export function canonicalText(value: object): string {
  const fast = fastCanonical(value);
  if (fast !== undefined) return fast;
  const text = canonicalize(value);
  if (text === undefined) throw new Error('record cannot be canonicalized');
  return text;
}

const isPlain = (v: object): boolean => {
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
};

/** A member name JSON.stringify writes in the order it was given (not an array index, not `__proto__`). */
const plainName = (k: string): boolean => !(k.charCodeAt(0) <= 57 && k.charCodeAt(0) >= 48) && k !== '__proto__';

/** A value JSON.stringify writes as JCS does, without nesting. */
function isScalar(v: unknown): boolean {
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(v);
    case 'object':
      return v === null || (v instanceof Date && v.toJSON === Date.prototype.toJSON);
    default:
      return false;
  }
}

/** Whether names are in JCS order; undefined when one rules the fast path out. */
function inJcsOrder(names: readonly string[]): boolean | undefined {
  let inOrder = true;
  for (let i = 0; i < names.length; i++) {
    if (!plainName(names[i]!)) return undefined;
    if (i > 0 && !(names[i - 1]! < names[i]!)) inOrder = false;
  }
  return inOrder;
}

/** A flat object (scalar members) whose members are already in JCS order. */
function isOrderedFlat(o: object): boolean {
  const names = Object.keys(o);
  return isPlain(o) && inJcsOrder(names) === true && names.every((k) => isScalar((o as Record<string, unknown>)[k]));
}

/** A member's value JSON.stringify writes as JCS does: a scalar, or a list of scalars and ordered flat objects. */
function isSimple(v: unknown): boolean {
  if (isScalar(v)) return true;
  if (!Array.isArray(v)) return false;
  for (const e of v) if (!isScalar(e) && !(typeof e === 'object' && e !== null && !Array.isArray(e) && isOrderedFlat(e))) return false;
  return true;
}

/** A character JSON.stringify escapes, or a surrogate (half of a pair, or alone: see mayBeCanonical). */
// eslint-disable-next-line no-control-regex -- the control characters are what it looks for
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;

/** A string's JSON (and JCS) text: quoted as it is when it has nothing to escape and no surrogate, else JSON.stringify's. */
export const stringText = (v: string): string => (NEEDS_ESCAPE.test(v) ? JSON.stringify(v) : `"${v}"`);

/**
 * The JCS text of a member's value, when JSON.stringify writes it as JCS does (see isSimple), or
 * undefined. A string with nothing to escape is quoted as it is. Check the whole text written
 * with `mayBeCanonical`.
 */
export function memberText(v: unknown): string | undefined {
  if (typeof v === 'string') return stringText(v);
  return isSimple(v) ? JSON.stringify(v) : undefined;
}

/**
 * Whether a text JSON.stringify wrote may be taken as JCS: it escapes a lone surrogate as \udxxx,
 * which JCS refuses (a string holding the characters "\ud" is sent the reference's way too).
 */
export const mayBeCanonical = (text: string): boolean => !text.includes('\\ud');

function fastCanonical(value: object): string | undefined {
  if (Array.isArray(value) || !isPlain(value)) return undefined;
  const names = Object.keys(value);
  const inOrder = inJcsOrder(names);
  if (inOrder === undefined) return undefined;
  const source = value as Record<string, unknown>;
  for (const k of names) if (!isSimple(source[k])) return undefined;
  let ordered = source;
  if (!inOrder) {
    ordered = {};
    for (const k of names.sort()) ordered[k] = source[k];
  }
  const text = JSON.stringify(ordered);
  return mayBeCanonical(text) ? text : undefined;
}
