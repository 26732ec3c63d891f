/** `tslws/lwsws`: the generic server configured by lws's JSON. */
import '../setup.js';

export { LwswsServer, type LwswsOptions, type ReloadResult } from './server.js';
export { readConfigDir, type ReadConfigOptions } from './config.js';
export { ConfigError, type ConfigWarning } from './errors.js';
export type { LwswsConfig, GlobalConfig, VhostConfig, MountConfig } from './model.js';
