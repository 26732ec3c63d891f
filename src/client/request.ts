import { randomBytes } from 'node:crypto';
import type { ClientHeaderAppender } from './info.js';
import { ErrorCode, rangeError, typeError } from '../core/errors.js';

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** Refuse header text that could split the request. */
export function checkHeader(name: string, value: string): void {
  if (!TOKEN.test(name)) throw typeError(ErrorCode.INVALID_HEADER, `client header name ${JSON.stringify(name)} is not a token`);
  if (/[\r\n\0]/.test(value)) throw typeError(ErrorCode.INVALID_HEADER, `client header ${name}: value contains CR, LF or NUL`);
}

/** Collects headers added by CLIENT_APPEND_HANDSHAKE_HEADER, bounded like lws's buffer. */
export class HeaderLines implements ClientHeaderAppender {
  text = '';
  constructor(private readonly maxBytes: number) {}
  add(name: string, value: string): void {
    checkHeader(name, value);
    const line = `${name}: ${value}\r\n`;
    if (this.text.length + line.length > this.maxBytes)
      throw rangeError(ErrorCode.INVALID_HEADER, `client headers: more than ${this.maxBytes} bytes appended`);
    this.text += line;
  }
}

/** A fresh `Sec-WebSocket-Key` (16 random bytes, RFC 6455 4.1). */
export function newWsKey(): string {
  return randomBytes(16).toString('base64');
}

/** `Host:` default: the address (bracketed if IPv6) and the port unless it is the scheme's. */
export function defaultHost(address: string, port: number, tls: boolean): string {
  const a = address.includes(':') ? `[${address}]` : address;
  return port === (tls ? 443 : 80) ? a : `${a}:${port}`;
}

export interface RequestParts {
  method: string;
  path: string;
  host: string;
  origin?: string;
  /** For a WebSocket: the key and the subprotocol offer. */
  ws?: { key: string; protocol?: string; extensions?: string };
  userHeaders: string;
  appended: string;
  bodyLength?: number;
}

/**
 * The request head. A WebSocket upgrade carries its headers in the order
 * lws sends them, with `Sec-WebSocket-Version` last.
 */
export function buildRequest(r: RequestParts): string {
  let s = `${r.method} ${r.path} HTTP/1.1\r\n`;
  if (r.ws) s += 'Pragma: no-cache\r\nCache-Control: no-cache\r\n';
  s += `Host: ${r.host}\r\n`;
  if (r.origin !== undefined) s += `Origin: ${r.origin.includes('://') ? r.origin : 'http://' + r.origin}\r\n`;
  if (r.ws) {
    s += `Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${r.ws.key}\r\n`;
    if (r.ws.protocol) s += `Sec-WebSocket-Protocol: ${r.ws.protocol}\r\n`;
    if (r.ws.extensions) s += `Sec-WebSocket-Extensions: ${r.ws.extensions}\r\n`;
  }
  s += r.userHeaders;
  if (r.bodyLength !== undefined) s += `Content-Length: ${r.bodyLength}\r\n`;
  s += r.appended;
  if (r.ws) s += 'Sec-WebSocket-Version: 13\r\n';
  return s + '\r\n';
}
