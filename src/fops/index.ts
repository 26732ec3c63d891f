/** `tslws/fops`: file operations (lws's fops), and zip archives as files. */
import '../setup.js';

export {
  FopFlag, FOP_READ_AGAIN, type FileOps, type FopFd, vfsFileOpen, vfsFileClose, vfsFileRead, vfsFileWrite, vfsFileSeekCur,
  vfsTell, vfsGetLength, vfsGetModTime, vfsFileSeekSet, vfsFileSeekEnd,
} from './fops.js';
export { platformFops } from './platform.js';
export { ZipArchive, ZipFormatError, DEFAULT_ZIP_LIMITS, type ZipLimits, type ZipEntry } from '../zip/reader.js';
export { writeZip, type ZipInput } from '../zip/writer.js';
export { zipFileOps } from '../zip/zip-fops.js';
