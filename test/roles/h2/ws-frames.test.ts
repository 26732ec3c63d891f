/**
 * RFC 6455 framing on an HTTP/2 stream (RFC 8441): the same cases as on an
 * HTTP/1.1 upgrade (../ws/frame-rules.ts), each WebSocket an extended
 * CONNECT from node:http2's client.
 */
import { frameRuleTests } from '../ws/frame-rules.js';
import { H2_WIRE } from '../../helpers/ws.js';

frameRuleTests(H2_WIRE);
