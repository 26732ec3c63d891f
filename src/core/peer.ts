/**
 * The address to report for a peer: an IPv4 peer reached through an IPv6
 * socket (`::ffff:127.0.0.1`) is reported as `127.0.0.1`, as lws and
 * nginx report it, so logs and access rules see one spelling per address.
 */
export function peerAddressOf(raw: string | undefined): string {
  if (!raw) return '';
  if (raw.length > 7 && (raw.charCodeAt(0) === 58 || raw.charCodeAt(0) === 48)) {
    const m = /^(?:0{0,4}:){0,5}:?(?:0{0,4}:)?ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(raw);
    if (m) return m[1];
  }
  return raw;
}
