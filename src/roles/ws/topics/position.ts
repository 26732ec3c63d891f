/**
 * Offsets of a topic's history compared as a bus gives them: two decimal
 * integers joined by a dash (a Redis stream ID, `ms-seq`), or one decimal
 * integer. Anything else compares as text, so the order stays total.
 */

function parts(o: string): [bigint, bigint] | null {
  const m = /^(\d{1,20})(?:-(\d{1,20}))?$/.exec(o);
  return m ? [BigInt(m[1] as string), BigInt(m[2] ?? '0')] : null;
}

/** Negative when offset `a` comes before `b`, 0 when equal, positive after. */
export function comparePositions(a: string, b: string): number {
  const x = parts(a);
  const y = parts(b);
  if (!x || !y) return a < b ? -1 : a > b ? 1 : 0;
  if (x[0] !== y[0]) return x[0] < y[0] ? -1 : 1;
  return x[1] === y[1] ? 0 : x[1] < y[1] ? -1 : 1;
}
