/** The `date:` header value, formatted at most once a second. */
let cached = '';
let cachedSec = -1;

export function httpDate(): string {
  const now = Date.now();
  const sec = Math.floor(now / 1000);
  if (sec !== cachedSec) {
    cachedSec = sec;
    cached = new Date(sec * 1000).toUTCString();
  }
  return cached;
}
