/**
 * `protocol-post-demo`, lws's form test: bound to `/formtest` by a CALLBACK
 * mount, it parses the test page's two forms (urlencoded `text` + `send`,
 * multipart `text` + `file` + `upload`) and answers with a table of what
 * it received. An uploaded file is streamed to `upload-path` (default
 * `<tmpdir>/post-file`, mode 0600, truncated) and is never held whole.
 *
 * pvo: `upload-path`, `max-upload` (bytes, default 100000, 413 past it),
 * `max-storage` (bytes of all fields together, default 1024).
 *
 * Differences from lws: values are HTML-escaped in the answer, a GET gets
 * 405 (lws 2.4 left it hanging), and a body past a limit or malformed gets
 * 413 / 400 before the connection is closed.
 *
 * ```ts
 * createContext({ port: 7681, protocols: [http, postDemoProtocol],
 *   mounts: [{ mountpoint: '/formtest', origin: 'protocol-post-demo', originProtocol: Mount.CALLBACK }] });
 * ```
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Protocol } from '../core/protocols.js';
import type { Wsi } from '../core/wsi.js';
import { Reason } from '../core/reasons.js';
import { Write } from '../core/write.js';
import { log } from '../core/log.js';
import { escapeHtml } from '../http/status.js';
import { Spa, SpaFileState, createSpa, type SpaFilePart } from '../http/spa/spa.js';
import { SpaError } from '../http/spa/errors.js';
import { UploadSink } from './upload-sink.js';
import { pvoNumber } from './pvo.js';
import type { Plugin } from './plugin.js';

export const POST_DEMO_PROTOCOL_NAME = 'protocol-post-demo';

const FIELDS = ['text', 'send', 'file', 'upload'] as const;
/** Bytes of upload waiting for the disk before reading from the client stops. */
const UPLOAD_HIGH_WATER = 256 * 1024;

interface PostSession {
  spa: Spa | null;
  sink: UploadSink | null;
  filename: string;
  fileLength: number;
  bodyDone: boolean;
  answer: Buffer | null;
}

/** The answer page, in lws 2.4's shape. */
function resultPage(spa: Spa, filename: string, fileLength: number): Buffer {
  let html = '<html><body><h1>Form results (after urldecoding)</h1>' +
    '<table><tr><td>Name</td><td>Length</td><td>Value</td></tr>';
  for (const name of FIELDS) {
    const v = spa.getString(name);
    html += `<tr><td><b>${name}</b></td><td>${spa.getLength(name)}</td><td>${v === undefined ? '(null)' : escapeHtml(v)}</td></tr>`;
  }
  html += `</table><br><b>filename:</b> ${escapeHtml(filename)}, <b>length</b> ${fileLength}</body></html>`;
  return Buffer.from(html);
}

/** Answer a bad body with its status, then close: the rest of the body is not worth reading. */
function refuse(wsi: Wsi, user: PostSession, e: unknown): number {
  user.sink?.abort();
  user.sink = null;
  if (!(e instanceof SpaError)) throw e;
  log.info('wsi %d: form refused: %d %s', wsi.id, e.status, e.message);
  wsi.returnHttpStatus(e.status, escapeHtml(e.message));
  return -1;
}

function fileCallback(wsi: Wsi, user: PostSession, uploadPath: string) {
  return (part: SpaFilePart, state: SpaFileState, chunk: Uint8Array): void => {
    switch (state) {
      case SpaFileState.OPEN:
        // One upload per form, as lws: a second file part replaces the first.
        user.sink?.abort();
        user.filename = part.filename;
        user.fileLength = 0;
        user.sink = new UploadSink(uploadPath, UPLOAD_HIGH_WATER, (on) => wsi.rxFlowControl(!on));
        break;
      case SpaFileState.CONTENT:
        user.fileLength += chunk.length;
        user.sink?.push(chunk);
        break;
      case SpaFileState.FINAL_CONTENT:
        break;
    }
  };
}

/** Once the body is parsed and the upload is on disk, ask to write the answer. */
function answerWhenWritten(wsi: Wsi, user: PostSession): void {
  const spa = user.spa as Spa;
  const done = (err: Error | null) => {
    if (wsi.closed) return;
    if (err) {
      log.err('wsi %d: writing the upload failed: %s', wsi.id, err.message);
      wsi.returnHttpStatus(500);
      return;
    }
    user.answer = resultPage(spa, user.filename, user.fileLength);
    wsi.callbackOnWritable();
  };
  if (user.sink) user.sink.finish(done);
  else done(null);
}

/** The body is complete: check the form, then answer once the upload is on disk. */
function finish(wsi: Wsi, user: PostSession, spa: Spa): number {
  try {
    spa.finalize();
  } catch (e) {
    return refuse(wsi, user, e);
  }
  answerWhenWritten(wsi, user);
  return 0;
}

export const postDemoProtocol: Protocol<PostSession> = {
  name: POST_DEMO_PROTOCOL_NAME,
  pvoOptions: ['upload-path', 'max-storage', 'max-upload'],
  createSessionData: () => ({ spa: null, sink: null, filename: '', fileLength: 0, bodyDone: false, answer: null }),
  callback(wsi, reason, user, input) {
    switch (reason) {
      case Reason.HTTP: {
        if (wsi.method !== 'POST') {
          wsi.addHttpHeaderStatus(405);
          wsi.addHttpHeaderByName('allow', 'POST');
          wsi.addHttpHeaderByName('content-type', 'text/html');
          const body = Buffer.from('<html><body><h1>405</h1>POST the form from the test page</body></html>');
          wsi.addHttpHeaderContentLength(body.length);
          wsi.write(wsi.finalizeHttpHeader(), Write.HTTP_HEADERS);
          wsi.write(body, Write.HTTP_FINAL);
          return 0;
        }
        const o = wsi.vhost.protocolOptions(POST_DEMO_PROTOCOL_NAME);
        const uploadPath = o['upload-path'] || join(tmpdir(), 'post-file');
        user.filename = '';
        user.fileLength = 0;
        user.answer = null;
        user.sink = null;
        try {
          user.spa = createSpa(wsi, {
            params: FIELDS,
            maxTotalBytes: pvoNumber(o, 'max-storage', 1024),
            maxFieldBytes: pvoNumber(o, 'max-storage', 1024),
            maxFileBytes: pvoNumber(o, 'max-upload', 100000),
            onFile: fileCallback(wsi, user, uploadPath),
          });
        } catch (e) {
          return refuse(wsi, user, e);
        }
        // A form with no body at all is an empty form. HTTP/2 need not send a
        // content-length, so ask the exchange whether a body is coming.
        if (!wsi.requestBodyPending) return finish(wsi, user, user.spa);
        return 0;
      }
      case Reason.HTTP_BODY:
        if (!user.spa) return 0;
        try {
          user.spa.process(input);
        } catch (e) {
          return refuse(wsi, user, e);
        }
        return 0;
      case Reason.HTTP_BODY_COMPLETION:
        if (!user.spa) return 0;
        return finish(wsi, user, user.spa);
      case Reason.HTTP_WRITEABLE: {
        const body = user.answer;
        if (!body) return 0;
        user.answer = null;
        user.spa = null;
        wsi.addHttpHeaderStatus(200);
        wsi.addHttpHeaderByName('content-type', 'text/html');
        wsi.addHttpHeaderContentLength(body.length);
        wsi.write(wsi.finalizeHttpHeader(), Write.HTTP_HEADERS);
        wsi.write(body, Write.HTTP_FINAL);
        return 0;
      }
      case Reason.CLOSED_HTTP:
      case Reason.HTTP_DROP_PROTOCOL:
        user.sink?.abort();
        user.sink = null;
        return 0;
    }
    return 0;
  },
};

/** The plugin carrying `protocol-post-demo`. */
export const plugin: Plugin = {
  name: 'protocol_post_demo',
  protocols: [postDemoProtocol],
};
