/**
 * SSL_INFO events: OpenSSL's `SSL_CB_*` bits (the values lws users already
 * put in `ssl_info_event_mask`) and how Node's TLS events map onto them.
 *
 * Node does not expose OpenSSL's info callback, so tslws reports what it
 * can observe:
 * - `HANDSHAKE_START` when the TLS accept (or connect) begins on a socket;
 * - `HANDSHAKE_DONE` when the handshake completes (`'secure'`);
 * - `READ_ALERT` when the peer sent a fatal alert (Node's
 *   `ERR_SSL_*_ALERT_*` error codes), `ret` = level << 8 | description;
 * - `WRITE_ALERT` when we send one: close_notify as we close a TLS
 *   connection, or the fatal alert OpenSSL sends when our side fails the
 *   handshake (no shared cipher, bad record, certificate refused…).
 */
export const SslInfo = {
  LOOP: 0x01,
  EXIT: 0x02,
  READ: 0x04,
  WRITE: 0x08,
  HANDSHAKE_START: 0x10,
  HANDSHAKE_DONE: 0x20,
  ALERT: 0x4000,
  READ_ALERT: 0x4000 | 0x04,
  WRITE_ALERT: 0x4000 | 0x08,
} as const;

/** The `input` of Reason.SSL_INFO (lws's `struct lws_ssl_info`). */
export interface SslInfoEvent {
  where: number;
  ret: number;
}

const WARNING = 1;
const FATAL = 2;

/** TLS alert descriptions (RFC 8446 6, RFC 5246 7.2) by OpenSSL's spelling in error codes. */
const ALERTS: Readonly<Record<string, number>> = {
  CLOSE_NOTIFY: 0,
  UNEXPECTED_MESSAGE: 10,
  BAD_RECORD_MAC: 20,
  DECRYPTION_FAILED: 21,
  RECORD_OVERFLOW: 22,
  DECOMPRESSION_FAILURE: 30,
  HANDSHAKE_FAILURE: 40,
  NO_CERTIFICATE: 41,
  BAD_CERTIFICATE: 42,
  UNSUPPORTED_CERTIFICATE: 43,
  CERTIFICATE_REVOKED: 44,
  CERTIFICATE_EXPIRED: 45,
  CERTIFICATE_UNKNOWN: 46,
  ILLEGAL_PARAMETER: 47,
  UNKNOWN_CA: 48,
  ACCESS_DENIED: 49,
  DECODE_ERROR: 50,
  DECRYPT_ERROR: 51,
  PROTOCOL_VERSION: 70,
  INSUFFICIENT_SECURITY: 71,
  INTERNAL_ERROR: 80,
  INAPPROPRIATE_FALLBACK: 86,
  USER_CANCELLED: 90,
  NO_RENEGOTIATION: 100,
  MISSING_EXTENSION: 109,
  UNSUPPORTED_EXTENSION: 110,
  UNRECOGNIZED_NAME: 112,
  BAD_CERTIFICATE_STATUS_RESPONSE: 113,
  UNKNOWN_PSK_IDENTITY: 115,
  CERTIFICATE_REQUIRED: 116,
  NO_APPLICATION_PROTOCOL: 120,
};

/** Errors where OpenSSL, failing the handshake on our side, sends this alert. */
const SENT_ON_ERROR: Readonly<Record<string, number>> = {
  ERR_SSL_NO_SHARED_CIPHER: 40,
  ERR_SSL_NO_SUITABLE_SIGNATURE_ALGORITHM: 40,
  ERR_SSL_UNSUPPORTED_PROTOCOL: 70,
  ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE: 116,
  ERR_SSL_CERTIFICATE_VERIFY_FAILED: 48,
  ERR_SSL_NO_APPLICATION_PROTOCOL: 120,
  ERR_SSL_DECRYPTION_FAILED_OR_BAD_RECORD_MAC: 20,
  ERR_SSL_UNEXPECTED_MESSAGE: 10,
  ERR_SSL_RECORD_LENGTH_MISMATCH: 50,
  ERR_SSL_LENGTH_MISMATCH: 50,
  ERR_SSL_BAD_PACKET_LENGTH: 50,
};

/**
 * The SSL_INFO alert event a TLS error stands for, if any: a received
 * alert (`ERR_SSL_SSLV3_ALERT_UNKNOWN_CA`, `ERR_SSL_TLSV1_ALERT_…`) or one
 * OpenSSL sent while failing the handshake.
 */
export function alertFromError(e: { code?: string }): SslInfoEvent | null {
  const code = e.code ?? '';
  const m = /^ERR_SSL_(?:SSLV3|TLSV1|TLSV13)_ALERT_([A-Z_]+)$/.exec(code);
  if (m) {
    const d = ALERTS[m[1]];
    if (d !== undefined) return { where: SslInfo.READ_ALERT, ret: (d === 0 ? WARNING : FATAL) << 8 | d };
  }
  const sent = SENT_ON_ERROR[code];
  if (sent !== undefined) return { where: SslInfo.WRITE_ALERT, ret: FATAL << 8 | sent };
  return null;
}

/** close_notify, as sent when we end a TLS connection. */
export const CLOSE_NOTIFY_SENT: SslInfoEvent = Object.freeze({ where: SslInfo.WRITE_ALERT, ret: WARNING << 8 | 0 });
