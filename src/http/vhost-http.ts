/**
 * The HTTP part of every vhost: its mounts, the header lines added to
 * every response, and the default protocol when none is given.
 */
import type { Context } from '../core/context.js';
import type { Vhost } from '../core/vhost.js';
import type { Protocol } from '../core/protocols.js';
import { registerContextFeature, registerVhostFeature } from '../core/features.js';
import { hasOption, Option } from '../core/options.js';
import { ErrorCode, typeError } from '../core/errors.js';
import { type HttpMount, type ResolvedMount, resolveMounts } from './mount.js';
import { callbackHttpDummy } from './dummy.js';

declare module '../core/vhost.js' {
  interface VhostCreationInfo {
    /** URL space served by the library. */
    mounts?: readonly HttpMount[];
    /** `server:` header value on responses; absent sends none. */
    serverString?: string;
    /** Extra headers added to every HTTP response of this vhost. */
    headers?: Readonly<Record<string, string>>;
  }
  interface Vhost {
    /** The `server:` header this vhost sends, if any. */
    readonly serverString: string | undefined;
    /** @internal Mounts, longest mountpoint first. */
    readonly mounts: readonly ResolvedMount[];
    /** @internal Pre-rendered `name: value\r\n` lines for every TLS response (with STS when asked for). */
    readonly extraHeaderLines: string;
    /** @internal The same lines for clear-text responses: never STS (RFC 6797 7.2). */
    readonly extraHeaderLinesClear: string;
  }
}

declare module '../core/context.js' {
  interface Context {
    /** Default `server:` string for vhosts that do not set their own. */
    readonly serverString: string | undefined;
  }
}

const DEFAULT_PROTOCOLS: readonly Protocol[] = [{ name: 'http-only', callback: callbackHttpDummy }];
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

type Writable<T> = { -readonly [K in keyof T]: T[K] };

registerContextFeature({
  name: 'http',
  order: 20,
  create(ctx: Context, info) {
    (ctx as Writable<Context>).serverString = info.serverString;
  },
});

registerVhostFeature({
  name: 'http',
  order: 20,
  prepare(_ctx, info) {
    return info.protocols && info.protocols.length ? info : { ...info, protocols: DEFAULT_PROTOCOLS };
  },
  create(vh: Vhost, info) {
    const v = vh as Writable<Vhost>;
    v.mounts = resolveMounts(info.mounts);
    v.serverString = info.serverString ?? vh.context.serverString;
    let lines = '';
    for (const [k, val] of Object.entries(info.headers ?? {})) {
      if (!TOKEN.test(k) || typeof val !== 'string' || /[\r\n\0]/.test(val))
        throw typeError(ErrorCode.INVALID_HEADER, `vhost ${vh.name}: invalid header ${JSON.stringify(k)}`);
      lines += `${k.toLowerCase()}: ${val}\r\n`;
    }
    if (v.serverString !== undefined) lines += `server: ${v.serverString}\r\n`;
    v.extraHeaderLinesClear = lines;
    if (hasOption(vh.options, Option.STS)) lines += 'strict-transport-security: max-age=15768000 ; includeSubDomains\r\n';
    v.extraHeaderLines = lines;
  },
});
