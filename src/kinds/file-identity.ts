// How ckpt recognises "the same file" at restore: device, inode, size,
// mtime. Used for mapped files (which must be unchanged) and open files.
import { statSync, type BigIntStats } from 'node:fs';
import { CkptError } from '../errors.js';
import type { FileIdentity } from '../image/format.js';

export function identityOf(path: string, st: BigIntStats): FileIdentity {
  return { path, dev: Number(st.dev), ino: Number(st.ino), size: Number(st.size), mtimeNs: st.mtimeNs.toString(), mode: Number(st.mode) };
}

export function statIdentity(path: string): FileIdentity {
  return identityOf(path, statSync(path, { bigint: true }));
}

/** Current identity of `path`, or a clear error when it is gone. */
export function currentIdentity(path: string, what: string): FileIdentity {
  try {
    return statIdentity(path);
  } catch (e) {
    throw new CkptError('FILE_CHANGED', `${what} ${path} is missing (${(e as { code?: string }).code ?? 'error'})`, { path, cause: e, hint: 'restore needs the files the process used, at the same paths' });
  }
}

/** Mapped files (programs, libraries, data) must be exactly the file that was checkpointed. */
export function requireUnchanged(saved: FileIdentity, what: string): void {
  const now = currentIdentity(saved.path, what);
  const diffs: string[] = [];
  if (now.dev !== saved.dev || now.ino !== saved.ino) diffs.push('it is a different file (device/inode)');
  if (now.size !== saved.size) diffs.push(`size ${saved.size} -> ${now.size}`);
  if (now.mtimeNs !== saved.mtimeNs) diffs.push('modification time changed');
  if (diffs.length) {
    throw new CkptError('FILE_CHANGED', `${what} ${saved.path} changed since the checkpoint: ${diffs.join(', ')}`, { path: saved.path, hint: 'restore needs the same file content the process had mapped' });
  }
}
