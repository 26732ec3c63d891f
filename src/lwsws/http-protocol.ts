/**
 * protocols[0] of every lwsws vhost: the library's dummy HTTP callback
 * (mounts do the serving) plus `reject-service-keywords`, which answers a
 * request whose User-Agent holds one of the substrings with the configured
 * status and text, then closes.
 */
import type { Protocol } from '../core/protocols.js';
import { Reason } from '../core/reasons.js';
import { callbackHttpDummy } from '../http/dummy.js';
import { escapeHtml } from '../http/status.js';
import { log } from '../core/log.js';
import type { RejectRule } from './model.js';

/** Name of lwsws's HTTP protocol on every vhost. */
export const LWSWS_HTTP_PROTOCOL = 'lwsws-http';

export function lwswsHttpProtocol(rules: readonly RejectRule[]): Protocol {
  return {
    name: LWSWS_HTTP_PROTOCOL,
    callback(wsi, reason, user, input) {
      if (reason === Reason.FILTER_HTTP_CONNECTION && rules.length) {
        const ua = wsi.hdrCopy('user-agent');
        if (ua !== undefined) {
          const rule = rules.find((r) => ua.includes(r.substring));
          if (rule) {
            log.info('wsi %d: rejecting user-agent "%s" (%s)', wsi.id, ua, rule.substring);
            wsi.returnHttpStatus(rule.status, escapeHtml(rule.text));
            return -1;
          }
        }
      }
      return callbackHttpDummy(wsi, reason, user, input);
    },
  };
}
