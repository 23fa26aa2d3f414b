// Narrowing for data that arrives from the wire (the state trait, custom
// messages): it is `unknown` until one of these checks says what it is. Each
// check throws a WireError naming the field and what it held, so a kernel and a
// bundle that disagree fail with a message instead of a blank view.

export class WireError extends Error {
  override name = "WireError";
}

export type Guard<T> = (value: unknown, where: string) => T;

function describe(value: unknown): string {
  if (value === undefined) return "nothing (the key is missing)";
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "string") return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  if (typeof value === "object") return "an object";
  return `${typeof value} ${String(value)}`;
}

function fail(where: string, wanted: string, value: unknown): never {
  throw new WireError(`${where} should be ${wanted}, got ${describe(value)}`);
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export const record: Guard<Record<string, unknown>> = (v, where) => (isRecord(v) ? v : fail(where, "an object", v));
export const number: Guard<number> = (v, where) => (typeof v === "number" ? v : fail(where, "a number", v));
export const integer: Guard<number> = (v, where) => (Number.isInteger(v) ? (v as number) : fail(where, "an integer", v));
export const string: Guard<string> = (v, where) => (typeof v === "string" ? v : fail(where, "a string", v));
export const boolean: Guard<boolean> = (v, where) => (typeof v === "boolean" ? v : fail(where, "true or false", v));

/** One of the given string literals. */
export function oneOf<const T extends readonly string[]>(...choices: T): Guard<T[number]> {
  return (v, where) => (typeof v === "string" && choices.includes(v) ? v : fail(where, choices.map((c) => JSON.stringify(c)).join(" or "), v));
}

export function nullable<T>(guard: Guard<T>): Guard<T | null> {
  return (v, where) => (v === null ? null : guard(v, where));
}

/** A key that may be missing (`undefined`), else checked by ``guard``. */
export function optional<T>(guard: Guard<T>): Guard<T | undefined> {
  return (v, where) => (v === undefined ? undefined : guard(v, where));
}

export function arrayOf<T>(guard: Guard<T>): Guard<T[]> {
  return (v, where) => (Array.isArray(v) ? v.map((x, i) => guard(x, `${where}[${i}]`)) : fail(where, "an array", v));
}

export const unknownArray: Guard<unknown[]> = (v, where) => (Array.isArray(v) ? v : fail(where, "an array", v));

/** ``obj[key]`` checked by ``guard``, the error naming ``where.key``. */
export function field<T>(obj: Record<string, unknown>, key: string, guard: Guard<T>, where: string): T {
  return guard(obj[key], `${where}.${key}`);
}
