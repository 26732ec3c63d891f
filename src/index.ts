/**
 * tslws: libwebsockets for Node.js. Everything public is exported here.
 */
export { createContext, Context, type ContextCreationInfo } from './core/context.js';
export { Vhost, type VhostCreationInfo } from './core/vhost.js';
export { Wsi } from './core/wsi.js';
export { Reason } from './core/reasons.js';
export { Write } from './core/write.js';
export { Option } from './core/options.js';
export { PendingTimeout, TO_KILL_ASYNC, TO_KILL_SYNC } from './core/timeouts.js';
export type { Protocol, ProtocolCallback, CallbackInput, Pvo, PvoOptions } from './core/protocols.js';
export { type HttpLimits, DEFAULT_HTTP_LIMITS } from './core/limits.js';
export { log, setLogLevel, getLogLevel, LogLevel, emitStderr, timestampedLine, type LogEmitter } from './core/log.js';
export { Token, tokenToName } from './roles/http/tokens.js';
export { Mount, type HttpMount } from './roles/http/mount.js';
export { callbackHttpDummy } from './roles/http/dummy.js';
export { getMimetype } from './roles/http/mime.js';
export { type WsOptions, DEFAULT_WS_OPTIONS } from './roles/ws/options.js';
export { CloseStatus } from './roles/ws/frame.js';
export type { Plugin } from './plugins/plugin.js';
export { dumbIncrementProtocol, plugin as dumbIncrementPlugin } from './plugins/dumb-increment.js';
export { mirrorProtocol, plugin as mirrorPlugin } from './plugins/mirror.js';
export { echoProtocol, createEchoProtocol, type EchoOptions, plugin as echoPlugin } from './plugins/echo.js';
export { clientConnect } from './client/connect.js';
export type { ClientConnectInfo, ClientSslOptions, ClientHeaderAppender } from './client/info.js';
export type { PerMessageDeflateOptions } from './roles/ws/options.js';
export { SslInfo, type SslInfoEvent } from './tls/ssl-info.js';
export { VhostTlsSetup, type VhostTlsInfo } from './tls/vhost-tls.js';
export type { ClientCertVerification } from './tls/accept.js';
