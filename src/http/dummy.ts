import type { Wsi } from '../core/wsi.js';
import { Reason } from '../core/reasons.js';
import type { CallbackInput } from '../core/protocols.js';

/**
 * The default HTTP protocol callback (lws's `lws_callback_http_dummy`):
 * mounts do the serving, and whatever reaches HTTP unhandled gets a 404.
 * Use it as protocols[0]'s callback, or call it from your own callback for
 * the reasons you do not handle.
 *
 * ```ts
 * const http: Protocol = { name: 'http', callback: callbackHttpDummy };
 * ```
 */
export function callbackHttpDummy(wsi: Wsi, reason: Reason, _user: unknown, _input: CallbackInput): number {
  switch (reason) {
    case Reason.HTTP:
      return wsi.returnHttpStatus(wsi.method === 'CONNECT' ? 405 : 404);
    default:
      return 0;
  }
}
