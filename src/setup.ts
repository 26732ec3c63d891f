/**
 * Every layer plugs itself into core when its module loads: importing this
 * loads them all (the server's, the client and SMP), so a context made
 * from `tslws` has every role and feature. The HTTP/2 server role still
 * loads on its first connection (see `roles/h2/start.ts`).
 */
import './setup-server.js';
import './client/vhost-client.js';
import './client/wsi-api.js';
import './smp/smp.js';
