/** The WebSocket settings of contexts and vhosts. */
import type { Context } from '../../core/context.js';
import type { Vhost } from '../../core/vhost.js';
import { registerContextFeature, registerVhostFeature } from '../../core/features.js';
import { resolveWsOptions, type WsOptions } from './options.js';

declare module '../../core/vhost.js' {
  interface VhostCreationInfo {
    /** WebSocket limits and settings; each absent field keeps its default (or the context's). */
    ws?: Partial<WsOptions>;
  }
  interface Vhost {
    /** The WebSocket settings of this vhost, every default filled in. */
    readonly wsOptions: Readonly<WsOptions>;
  }
}

declare module '../../core/context.js' {
  interface Context {
    /** @internal WebSocket settings vhosts start from. */
    readonly wsOptions: Partial<WsOptions>;
  }
}

type Writable<T> = { -readonly [K in keyof T]: T[K] };

registerContextFeature({
  name: 'ws',
  order: 40,
  create(ctx: Context, info) {
    (ctx as Writable<Context>).wsOptions = { ...info.ws };
  },
});

registerVhostFeature({
  name: 'ws',
  order: 40,
  create(vh: Vhost, info) {
    (vh as Writable<Vhost>).wsOptions = resolveWsOptions({ ...vh.context.wsOptions, ...info.ws });
  },
});
