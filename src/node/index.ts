/**
 * `tslws/node`: WebSocket as whole messages, ws-like, on top of the lws
 * callbacks (`createWebSocketServer`, `connect` and `MessageSocket`), and
 * HTTP requests answered by an async function (`httpHandler`).
 */
import '../setup.js';

export * from './api.js';
