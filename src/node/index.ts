/**
 * `tslws/node`: WebSocket as whole messages, ws-like, on top of the lws
 * callbacks: `createWebSocketServer`, `connect` and `MessageSocket`.
 */
import '../setup.js';

export * from './api.js';
