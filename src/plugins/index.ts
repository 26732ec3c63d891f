/** `tslws/plugins`: the built-in protocol plugins and plugin loading. */
import '../setup.js';

export type { Plugin } from './plugin.js';
export { loadPlugins, isPlugin, type LoadPluginsOptions } from './load.js';
export { BUILTIN_PLUGINS, BUILTIN_PLUGIN_DIR, builtinPlugin } from './builtin.js';
export { pvoFlag, pvoNumber } from './pvo.js';
export { dumbIncrementProtocol, plugin as dumbIncrementPlugin } from './dumb-increment.js';
export { mirrorProtocol, plugin as mirrorPlugin } from './mirror.js';
export { echoProtocol, createEchoProtocol, type EchoOptions, plugin as echoPlugin } from './echo.js';
export { postDemoProtocol, POST_DEMO_PROTOCOL_NAME, plugin as postDemoPlugin } from './post-demo.js';
export { serverStatusProtocol, buildStatus, SERVER_STATUS_PROTOCOL_NAME, plugin as serverStatusPlugin } from './server-status.js';
export { metricsProtocol, metricsSnapshot, METRICS_PROTOCOL_NAME, plugin as metricsPlugin } from './metrics.js';
export {
  mergeMetricsSnapshots, formatPrometheus, formatOpenMetrics, PROMETHEUS_CONTENT_TYPE, OPENMETRICS_CONTENT_TYPE,
  type MetricsSnapshot, type MetricFamilySnapshot, type MetricValueSnapshot, type MetricHistogramSnapshot, type MetricType,
} from './metrics-registry.js';
export { rawTestProtocol, RAW_TEST_PROTOCOL_NAME, RAW_TEST_DEFAULT_FIFO, plugin as rawTestPlugin } from './raw-test.js';
