/**
 * How the B3 context rides on a Thrift call without changing the IDL: as extra string fields of the
 * call's argument struct, with reserved ids near the top of the i16 range. Every Thrift decoder
 * skips fields it does not know, so an uninstrumented server ignores them; an instrumented one
 * takes them out before the generated code sees the struct. See README.md.
 */
import { B3_HEADERS } from '../tracer/b3.ts';

/** Field id → B3 header it carries. Ids 32764-32767 are reserved for later use. */
export const TRACE_FIELDS: ReadonlyMap<number, string> = new Map([
  [32760, B3_HEADERS.traceId],
  [32761, B3_HEADERS.spanId],
  [32762, B3_HEADERS.parentSpanId],
  [32763, B3_HEADERS.sampled],
]);

export const FIRST_RESERVED_FIELD = 32760;
export const LAST_RESERVED_FIELD = 32767;

/** The fields to write for B3 `headers`, in field-id order; headers without a field are left out. */
export function traceFieldsOf(headers: Readonly<Record<string, string>>): [number, string][] {
  const fields: [number, string][] = [];
  for (const [id, name] of TRACE_FIELDS) {
    const value = headers[name];
    if (value !== undefined) fields.push([id, value]);
  }
  return fields;
}

/** True for a field an instrumented reader takes out of an argument struct. */
export function isTraceField(fid: number): boolean {
  return TRACE_FIELDS.has(fid);
}
