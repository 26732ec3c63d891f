/**
 * `tslws/node`: WebSocket as whole messages, ws-like, on top of the lws
 * callbacks (`createWebSocketServer`, `connect` and `MessageSocket`), and
 * HTTP requests answered by an async function (`httpHandler`).
 */
// The server's layers; the client loads with the first `connect`.
import '../setup-server.js';

export * from './api.js';
