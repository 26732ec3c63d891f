/** The message layer's public names, for `tslws` and `tslws/node`. */
export {
  MessageSocket, ReadyState, type Message, type MessageOptions, type MessageSocketEvents, type BufferFullPolicy,
} from './message-socket.js';
export {
  createWebSocketServer, WebSocketServer, type WebSocketServerOptions, type WebSocketServerEvents, type UpgradeRequest, type UpgradeRefusal,
} from './server.js';
export { type ClientSet } from './client-set.js';
export { connect, type ConnectOptions } from './connect.js';
export {
  httpHandler, HttpHandlerRequest, HttpHandlerResponse, RequestBodyError, type HttpHandler, type HttpHandlerOptions,
} from './http-handler.js';
