/**
 * The layers a server needs, plugged into core as their modules load:
 * HTTP, files, TLS, the HTTP/1.1, RAW and WebSocket roles, listening and
 * plugins. The HTTP/2 role loads itself on its first connection; the
 * client and SMP are in `setup.ts`, which loads everything. The order does
 * not matter (features carry their own).
 */
import './http/vhost-http.js';
import './http/wsi-api.js';
import './fops/context-fops.js';
import './responders/file/file-cache.js';
import './responders/file/wsi-api.js';
import './tls/vhost-feature.js';
import './roles/h1/role-h1.js';
import './roles/raw/role-raw.js';
import './roles/h2/vhost-h2.js';
import './roles/ws/role-ws.js';
import './roles/ws/vhost-ws.js';
import './roles/ws/wsi-api.js';
import './roles/ws/topics-api.js';
import './roles/listen/listen-feature.js';
import './roles/listen/adopt-socket.js';
import './roles/listen/attach.js';
import './roles/raw/adopt-descriptor.js';
import './plugins/context-plugins.js';
