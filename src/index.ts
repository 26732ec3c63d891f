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
export {
  log, setLogLevel, getLogLevel, LogLevel, emitStderr, emitSyslog, createSyslogEmitter, timestampedLine, type LogEmitter, type SyslogOptions,
} from './core/log.js';
export { Token, tokenToName } from './http/tokens.js';
export { Mount, type HttpMount } from './http/mount.js';
export { callbackHttpDummy } from './http/dummy.js';
export { getMimetype } from './http/mime.js';
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
export { createContextAsync } from './core/context.js';
export { loadPlugins, isPlugin, type LoadPluginsOptions } from './plugins/load.js';
export { BUILTIN_PLUGINS, BUILTIN_PLUGIN_DIR, builtinPlugin } from './plugins/builtin.js';
export { pvoFlag, pvoNumber } from './plugins/pvo.js';
export { Spa, SpaFileState, createSpa, type SpaOptions, type SpaFilePart } from './http/spa/spa.js';
export { SpaError } from './http/spa/errors.js';
export { postDemoProtocol, POST_DEMO_PROTOCOL_NAME, plugin as postDemoPlugin } from './plugins/post-demo.js';
export { AccessLog, attachAccessLog, vhostAccessLog, formatAccessLine, type AccessLogOptions, type AccessRecord } from './http/access-log.js';
export { serverStatusProtocol, buildStatus, SERVER_STATUS_PROTOCOL_NAME, plugin as serverStatusPlugin } from './plugins/server-status.js';
export { ZipArchive, ZipFormatError, DEFAULT_ZIP_LIMITS, type ZipLimits, type ZipEntry } from './zip/reader.js';
export { writeZip, type ZipInput } from './zip/writer.js';
export {
  FopFlag, type FileOps, type FopFd, vfsFileOpen, vfsFileClose, vfsFileRead, vfsFileWrite, vfsFileSeekCur,
  vfsTell, vfsGetLength, vfsGetModTime, vfsFileSeekSet, vfsFileSeekEnd,
} from './fops/fops.js';
export { platformFops } from './fops/platform.js';
export { LwswsServer, type LwswsOptions, type ReloadResult } from './lwsws/server.js';
export { readConfigDir, type ReadConfigOptions } from './lwsws/config.js';
export { ConfigError, type ConfigWarning } from './lwsws/errors.js';
export type { LwswsConfig, GlobalConfig, VhostConfig, MountConfig } from './lwsws/model.js';
