import type { Wsi } from '../index.js';

/** The request's query as URLSearchParams, from lws's URL arguments (already decoded, one per `&` part). */
export function urlQuery(wsi: Wsi): URLSearchParams {
  const query = new URLSearchParams();
  for (let i = 0; ; i++) {
    const a = wsi.getUrlArg(i);
    if (a === undefined) break;
    const eq = a.indexOf('=');
    query.append(eq < 0 ? a : a.slice(0, eq), eq < 0 ? '' : a.slice(eq + 1));
  }
  return query;
}
