/** The context's file operations: what FILE mounts and `serveHttpFile` read through. */
import { Context } from '../core/context.js';
import { extendApi, registerContextFeature } from '../core/features.js';
import { checkFops, type FileOps } from './fops.js';
import { platformFops } from './platform.js';

declare module '../core/context.js' {
  interface ContextCreationInfo {
    /** File operations FILE mounts read through (lws's fops); default `platformFops`. */
    fops?: FileOps;
  }
  interface Context {
    /**
     * The file operations FILE mounts read through (lws's `lws_get_fops`).
     * Wrap them (`{ ...context.fops, open(p, f) { log(p); return platformFops.open(p, f); } }`)
     * or replace them with a virtual file system; set before serving.
     */
    fops: FileOps;
  }
}

const fopsOf = new WeakMap<Context, FileOps>();

registerContextFeature({
  name: 'fops',
  order: 15,
  create(ctx, info) {
    fopsOf.set(ctx, checkFops(info.fops ?? platformFops));
  },
});

extendApi(Context, {
  get fops(): FileOps {
    return fopsOf.get(this) ?? platformFops;
  },
  set fops(f: FileOps) {
    fopsOf.set(this, checkFops(f));
  },
});
