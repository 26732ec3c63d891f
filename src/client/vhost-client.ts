/**
 * What a vhost and a context offer client connections: TLS defaults, the
 * pool of kept connections, and `clientConnect`.
 */
import { Context } from '../core/context.js';
import { Vhost } from '../core/vhost.js';
import { Reason } from '../core/reasons.js';
import type { Wsi } from '../core/wsi.js';
import { extendApi, registerVhostFeature } from '../core/features.js';
import { ErrorCode, stateError } from '../core/errors.js';
import type { ClientConnectInfo, ClientHeaderAppender, ClientSslOptions } from './info.js';
import { ClientPool } from './keepalive-pool.js';
import { clientConnect } from './connect.js';

// The inputs only this layer delivers; see ReasonInput.
declare module '../core/protocols.js' {
  interface ReasonInput {
    /** The settings `initClientSsl` was given (a copy): change them here, e.g. set `ca`. */
    [Reason.OPENSSL_LOAD_EXTRA_CLIENT_VERIFY_CERTS]: ClientSslOptions;
    /** Adds headers to the request being built. */
    [Reason.CLIENT_APPEND_HANDSHAKE_HEADER]: ClientHeaderAppender;
  }
}

declare module '../core/vhost.js' {
  interface Vhost {
    /**
     * Prepare this vhost for TLS client connections (lws's
     * `lws_init_vhost_client_ssl`): the settings become the defaults of every
     * `clientConnect` on this vhost that asks for TLS, and
     * OPENSSL_LOAD_EXTRA_CLIENT_VERIFY_CERTS is delivered to the first
     * protocol with the settings object, which user code may still change.
     *
     * ```ts
     * vhost.initClientSsl({ ca: readFileSync('my-ca.pem') });
     * context.clientConnect({ vhost, address: 'example.com', port: 443, ssl: true });
     * ```
     */
    initClientSsl(opts?: ClientSslOptions): void;
    /** @internal Defaults for TLS client connections made on this vhost (`initClientSsl`). */
    readonly clientSsl: ClientSslOptions | undefined;
    /** @internal Idle HTTP client connections of this vhost kept for reuse. */
    readonly clientPool: ClientPool;
  }
}

declare module '../core/context.js' {
  interface Context {
    /**
     * Open a client connection (WebSocket, HTTP or RAW) from this context;
     * see `clientConnect` for the details.
     *
     * ```ts
     * const wsi = context.clientConnect({ address: '127.0.0.1', port: 7681, protocol: 'lws-echo' });
     * ```
     */
    clientConnect(info: ClientConnectInfo): Wsi;
  }
}

const ssl = new WeakMap<Vhost, ClientSslOptions>();
const pools = new WeakMap<Vhost, ClientPool>();

registerVhostFeature({
  name: 'client',
  order: 50,
  destroy(vh) {
    pools.get(vh)?.clear();
  },
});

extendApi(Vhost, {
  initClientSsl(opts: ClientSslOptions = {}): void {
    const o: ClientSslOptions = { ...opts };
    if (this.callVhostProtocol(this.protocols[0], Reason.OPENSSL_LOAD_EXTRA_CLIENT_VERIFY_CERTS, o) !== 0)
      throw stateError(ErrorCode.TLS_SETUP, `initClientSsl: ${this}: OPENSSL_LOAD_EXTRA_CLIENT_VERIFY_CERTS failed`);
    ssl.set(this, o);
  },
  get clientSsl(): ClientSslOptions | undefined {
    return ssl.get(this);
  },
  get clientPool(): ClientPool {
    let p = pools.get(this);
    if (!p) pools.set(this, (p = new ClientPool(this.context.timers, this.limits.clientKeepAliveMax, this.limits.clientKeepAliveSecs)));
    return p;
  },
});

extendApi(Context, {
  clientConnect(info: ClientConnectInfo): Wsi {
    return clientConnect({ ...info, context: this });
  },
});
