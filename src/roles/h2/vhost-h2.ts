/** The HTTP/2 settings of vhosts. */
import type { Vhost } from '../../core/vhost.js';
import { registerVhostFeature } from '../../core/features.js';
import { ErrorCode, typeError } from '../../core/errors.js';
import { resolveH2Options, DEFAULT_H2_OPTIONS, type H2Options } from './options.js';

declare module '../../core/vhost.js' {
  interface VhostCreationInfo {
    /** HTTP/2 settings and limits; each absent field keeps its default. */
    h2?: Partial<H2Options>;
  }
}

const options = new WeakMap<Vhost, Readonly<H2Options>>();

/** The HTTP/2 options of a vhost. */
export function h2OptionsOf(vh: Vhost): Readonly<H2Options> {
  return options.get(vh) ?? DEFAULT_H2_OPTIONS;
}

registerVhostFeature({
  name: 'h2',
  order: 45,
  create(vh, info) {
    const o = Object.freeze(resolveH2Options(info.h2));
    options.set(vh, o);
    if (o.only && !o.enabled) throw typeError(ErrorCode.INVALID_OPTION, `vhost ${vh.name}: h2.only needs h2.enabled`);
    // A vhost that does not serve HTTP/2 must not offer it to TLS clients; one that serves only HTTP/2 offers nothing else.
    if (!o.enabled && vh.tls) vh.tls.alpn = vh.tls.alpn.filter((p) => p !== 'h2');
    if (o.only && vh.tls) vh.tls.alpn = ['h2'];
  },
});
