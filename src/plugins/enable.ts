/**
 * Which plugin protocols join a vhost, after lws's rule: a vhost with no
 * per-vhost options at all gets every plugin protocol (the compatibility
 * rule for simple servers); a vhost with options gets only the protocols
 * its options name. Protocols given in code come first and win over a
 * plugin protocol of the same name.
 */
import type { Protocol, Pvo } from '../core/protocols.js';
import { callbackHttpDummy } from '../http/dummy.js';
import { log } from '../core/log.js';
import type { Plugin } from './plugin.js';

const HTTP_ONLY: Protocol = { name: 'http-only', callback: callbackHttpDummy };

/** @internal The protocol list a vhost gets from its own protocols, its pvo and the context's plugins. */
export function vhostProtocols(own: readonly Protocol[] | undefined, pvo: Pvo | undefined,
  plugins: readonly Plugin[]): readonly Protocol[] | undefined {
  if (!plugins.length) return own;
  const out: Protocol[] = own && own.length ? [...own] : [HTTP_ONLY];
  const all = !pvo || Object.keys(pvo).length === 0;
  const seen = new Set(out.map((p) => p.name));
  for (const plugin of plugins) {
    for (const p of plugin.protocols) {
      if (!all && !Object.hasOwn(pvo, p.name)) continue;
      if (seen.has(p.name)) {
        log.debug('plugin %s: protocol %s already on the vhost, keeping the first', plugin.name, p.name);
        continue;
      }
      seen.add(p.name);
      out.push(p);
    }
  }
  return out;
}

/** The protocols a pvo names that neither the vhost nor any plugin has. */
export function unknownPvoProtocols(protocols: readonly Protocol[], pvo: Pvo | undefined): string[] {
  const have = new Set(protocols.map((p) => p.name));
  return Object.keys(pvo ?? {}).filter((n) => !have.has(n));
}
