/** Zip record signatures and sizes (APPNOTE.TXT 4.3). */
export const SIG_LOCAL = 0x04034b50;
export const SIG_CENTRAL = 0x02014b50;
export const SIG_EOCD = 0x06054b50;
export const LOCAL_SIZE = 30;
export const CENTRAL_SIZE = 46;
export const EOCD_SIZE = 22;
export const METHOD_STORED = 0;
export const METHOD_DEFLATED = 8;

/** MS-DOS date and time (local time, 2 s resolution) as a Date, UTC taken as local. */
export function fromDosTime(date: number, time: number): Date {
  const y = 1980 + (date >> 9);
  const mo = ((date >> 5) & 15) - 1;
  const d = date & 31;
  return new Date(Date.UTC(y, mo, d || 1, time >> 11, (time >> 5) & 63, (time & 31) * 2));
}

export function toDosTime(t: Date): { date: number; time: number } {
  const y = Math.max(1980, t.getUTCFullYear());
  return {
    date: ((y - 1980) << 9) | ((t.getUTCMonth() + 1) << 5) | t.getUTCDate(),
    time: (t.getUTCHours() << 11) | (t.getUTCMinutes() << 5) | (t.getUTCSeconds() >> 1),
  };
}
