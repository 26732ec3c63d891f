/** `wsi.serveHttpFile`: a file as the whole response, on any wire. */
import { Wsi } from '../../core/wsi.js';
import { extendApi } from '../../core/features.js';
import { log } from '../../core/log.js';
import { exchangeRequired } from '../../http/wsi-api.js';
import { serveFileAt } from './serve.js';

declare module '../../core/wsi.js' {
  interface Wsi {
    /**
     * Send a file as the response, from WRITEABLE callbacks, in bounded
     * chunks; HTTP_FILE_COMPLETION follows the last byte. Conditional and
     * single-range requests are honoured. The file is read through the
     * context's `fops`. Returns -1 (sending nothing) if the file cannot be
     * opened, so the caller can answer otherwise.
     */
    serveHttpFile(path: string, mime: string, extraHeaders?: Readonly<Record<string, string>>): number;
  }
}

extendApi(Wsi, {
  serveHttpFile(path: string, mime: string, extraHeaders?: Readonly<Record<string, string>>): number {
    const ex = exchangeRequired(this, 'serveHttpFile');
    if (!ex.active || ex.headersSent || ex.done) {
      log.err('wsi %d: serveHttpFile after the response started', this.id);
      return -1;
    }
    return serveFileAt(ex, path, mime, extraHeaders) ? 0 : -1;
  },
});
