/**
 * How the layers above core plug into it without core naming them: they
 * register hooks run when contexts and vhosts are made and destroyed, and
 * they add their part of the public API to Context, Vhost and Wsi (with a
 * TypeScript module augmentation beside the code that implements it).
 */
import type { Context, ContextCreationInfo } from './context.js';
import type { Vhost, VhostCreationInfo } from './vhost.js';
import type { Wsi } from './wsi.js';
import type { RoleOps, Transport } from './role.js';

/** What a layer does when a vhost is made and destroyed. */
export interface VhostFeature {
  readonly name: string;
  /** Lower runs first: 10 plugins, 20 http, 30 tls, 40 ws, 50 client, 90 listen. */
  readonly order: number;
  /** Adjust the creation info before the vhost is made (fill in protocols …). */
  prepare?(context: Context, info: VhostCreationInfo): VhostCreationInfo;
  /** Check the info and set up this layer's part of the vhost; throwing refuses the vhost. */
  create?(vh: Vhost, info: VhostCreationInfo): void;
  /** The vhost's protocols have had PROTOCOL_INIT: start serving. */
  start?(vh: Vhost): void;
  /** The vhost's connections are closed and its protocols destroyed; a promise delays `vhost.destroy()`'s. */
  destroy?(vh: Vhost): Promise<void> | void;
}

/** What a layer does when a context is made and destroyed. */
export interface ContextFeature {
  readonly name: string;
  readonly order: number;
  /** Adjust the creation info before anything reads it (a service process's connection limit …). */
  prepare?(info: ContextCreationInfo): ContextCreationInfo;
  /** Check the info and set up this layer's part; runs before the default vhost is made. */
  create?(context: Context, info: ContextCreationInfo): void;
  /**
   * `drain()` or `destroy()` has begun, before connections close: stop
   * taking new ones. `drain` is given for `drain()` (its bound), absent
   * for `destroy()`; both may come, drain first. A promise delays `destroy()`'s.
   */
  stop?(context: Context, drain?: { timeoutSecs: number }): Promise<void> | void;
  /** Every connection and vhost is gone: free what is left. */
  destroy?(context: Context): void;
}

/** Per-connection events a layer may watch. */
export interface ConnectionHooks {
  /** The transport of a root connection is about to be ended gracefully (TLS reports close_notify). */
  ending?(wsi: Wsi, transport: Transport): void;
  /** The connection took a new role (`roleTransition`): `wsi.roleName` names it. For counting, not for changing it. */
  role?(wsi: Wsi): void;
}

const vhostFeatures: VhostFeature[] = [];
const contextFeatures: ContextFeature[] = [];
const roles: RoleOps[] = [];
const connectionHooks: ConnectionHooks[] = [];

function insert<T extends { name: string; order: number }>(list: T[], f: T): void {
  if (list.some((x) => x.name === f.name)) return; // a module loaded twice registers once
  list.push(f);
  list.sort((a, b) => a.order - b.order);
}

/** Add a layer's vhost hooks. */
export function registerVhostFeature(f: VhostFeature): void {
  insert(vhostFeatures, f);
}

/** Add a layer's context hooks. */
export function registerContextFeature(f: ContextFeature): void {
  insert(contextFeatures, f);
}

/** Register a role: its per-vhost init and destroy run for every vhost. */
export function registerRole(ops: RoleOps): void {
  if (!roles.includes(ops)) roles.push(ops);
}

/** Watch connection events. */
export function registerConnectionHooks(h: ConnectionHooks): void {
  if (!connectionHooks.includes(h)) connectionHooks.push(h);
}

/** @internal */
export function vhostFeatureList(): readonly VhostFeature[] {
  return vhostFeatures;
}

/** @internal */
export function contextFeatureList(): readonly ContextFeature[] {
  return contextFeatures;
}

/** @internal */
export function roleList(): readonly RoleOps[] {
  return roles;
}

/** @internal */
export function runRoleHooks(wsi: Wsi): void {
  for (const h of connectionHooks) h.role?.(wsi);
}

/** @internal */
export function runEnding(wsi: Wsi, t: Transport): void {
  for (const h of connectionHooks) h.ending?.(wsi, t);
}

/**
 * Add methods and accessors to a core class's prototype (the layer
 * declares them in a module augmentation beside this call). A name
 * defined twice is a bug: it throws when the module loads.
 *
 * ```ts
 * declare module '../core/wsi.js' { interface Wsi { isFinalFragment(): boolean } }
 * extendApi(Wsi, { isFinalFragment() { return wsOf(this)?.isFinalFragment ?? false; } });
 * ```
 */
export function extendApi<T extends object>(cls: { prototype: T; name: string }, members: Partial<T> & ThisType<T>): void {
  const proto = cls.prototype;
  for (const [k, d] of Object.entries(Object.getOwnPropertyDescriptors(members))) {
    if (Object.prototype.hasOwnProperty.call(proto, k)) throw new Error(`${cls.name}.${k} is defined twice`);
    Object.defineProperty(proto, k, { ...d, enumerable: false });
  }
}
