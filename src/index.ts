/**
 * tslws: libwebsockets for Node.js. Everything public is exported here,
 * by concept; `tslws/plugins`, `tslws/lwsws` and `tslws/fops` export the
 * optional parts on their own.
 */
import './setup.js';

// ---- contexts, vhosts, connections ----
export { createContext, Context, type ContextCreationInfo } from './core/context.js';
export { createContextAsync } from './plugins/context-plugins.js';
export { Vhost, type VhostCreationInfo } from './core/vhost.js';
export { Wsi } from './core/wsi.js';
export { Option } from './core/options.js';
export type { AdoptSocketOptions } from './roles/listen/adopt-socket.js';
export { attachToServer, type AttachOptions, type Attachment, type UpgradeServer } from './roles/listen/attach.js';
export type { AdoptDescriptorOptions } from './roles/raw/adopt-descriptor.js';
export { type HttpLimits, DEFAULT_HTTP_LIMITS } from './core/limits.js';
export { ErrorCode, type TslwsError } from './core/errors.js';

// ---- protocols and their callbacks ----
export type {
  Protocol, ProtocolCallback, CallbackArgs, CallbackInput, ReasonInput, Pvo, PvoOptions,
} from './core/protocols.js';
export { Reason } from './core/reasons.js';
export { Poll, type PollArgs } from './core/poll-events.js';
export { LWS_PRE, Write } from './core/write.js';
export { SpareBuffers } from './core/spare-buffers.js';
export { PendingTimeout, TO_KILL_ASYNC, TO_KILL_SYNC } from './core/timeouts.js';

// ---- diagnostics channels (metrics, tracing) ----
export {
  DiagnosticsChannel, subscribeDiagnostics, type DiagnosticsMessages, type ConnectionFacts, type ConnectionOpenMessage,
  type ConnectionRoleMessage, type ConnectionCloseMessage, type HttpRequestStartMessage, type HttpRequestFinishMessage,
  type WsOpenMessage, type WsCloseMessage, type WsMessageMessage, type ErrorMessage, type CallbackErrorMessage,
  type HandshakeErrorMessage,
} from './core/diagnostics.js';

// ---- logging ----
export {
  log, setLogLevel, getLogLevel, LogLevel, emitStderr, emitSyslog, createSyslogEmitter, timestampedLine, type LogEmitter, type SyslogOptions,
} from './core/log.js';

// ---- HTTP: headers, mounts, forms, access logs ----
export { Token, tokenToName } from './http/tokens.js';
export { Mount, type HttpMount } from './http/mount.js';
export { callbackHttpDummy } from './http/dummy.js';
export { getMimetype } from './http/mime.js';
export { Spa, SpaFileState, createSpa, type SpaOptions, type SpaFilePart } from './http/spa/spa.js';
export { SpaError } from './http/spa/errors.js';
export { AccessLog, attachAccessLog, vhostAccessLog, formatAccessLine, type AccessLogOptions, type AccessRecord } from './http/access-log.js';

// ---- WebSocket ----
export { type WsOptions, DEFAULT_WS_OPTIONS, type PerMessageDeflateOptions } from './roles/ws/options.js';
export { CloseStatus } from './roles/ws/frame.js';
export type { TopicsOptions, TopicQueueBounds, TopicOverflow } from './roles/ws/topics/options.js';
export type { TopicStats } from './roles/ws/topics/published.js';
export type {
  PublishOptions, PublishResult, SubscribeOptions, TopicDropReport, TopicGapReport, TopicListener, TopicSubscribersChange,
} from './roles/ws/topics/registry.js';
export type {
  TopicBus, TopicBusHandler, TopicBusGapHandler, TopicBusMeta, TopicGapCause, TopicPosition, TopicReplay, TopicReplayMessage,
} from './roles/ws/topics/bus.js';

// ---- TLS ----
export { SslInfo, type SslInfoEvent } from './tls/ssl-info.js';
export { VhostTlsSetup, type VhostTlsInfo } from './tls/vhost-tls.js';
export type { ClientCertVerification } from './tls/accept.js';

// ---- clients ----
export { clientConnect } from './client/connect.js';
export { MAX_SMP, TOPIC_BUS_MAX_IN_FLIGHT, isSmpService, type TopicBusStats } from './smp/smp.js';
export type { ClientConnectInfo, ClientSslOptions, ClientHeaderAppender } from './client/info.js';

// ---- messages: a ws-like layer on the callbacks, and httpHandler (also `tslws/node`) ----
export * from './node/api.js';

// ---- file operations and zip archives (also `tslws/fops`) ----
export * from './fops/index.js';

// ---- plugins (also `tslws/plugins`) ----
export * from './plugins/index.js';

// ---- lwsws (also `tslws/lwsws`) ----
export * from './lwsws/index.js';

// ---- topics across machines through Redis (also `tslws/redis`; needs the optional `redis` package) ----
export * from './redis/index.js';
