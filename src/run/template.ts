// Image names for checkpoints taken by signal, key or freeze(), from a
// template: %N program name, %P PID, %U user, %T time, %% a percent sign.
// Relative names are relative to the program's working directory.
import { readFileSync, readlinkSync, accessSync, constants } from 'node:fs';
import { userInfo } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';
import { CkptError } from '../errors.js';

export const DEFAULT_TEMPLATE = '%N.ckpt';

function userName(pid: number): string {
  try {
    const uid = Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
    for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const f = line.split(':');
      if (Number(f[2]) === uid) return f[0];
    }
    return String(uid);
  } catch {
    return userInfo().username;
  }
}

export function expandTemplate(template: string, pid: number, now = new Date()): string {
  const comm = () => readFileSync(`/proc/${pid}/comm`, 'utf8').trim().replace(/[^A-Za-z0-9._-]/g, '_');
  const pad = (n: number) => String(n).padStart(2, '0');
  const time = () => `${now.getFullYear()}${pad(now.getMonth() + 1)}${pad(now.getDate())}-${pad(now.getHours())}${pad(now.getMinutes())}${pad(now.getSeconds())}`;
  const name = template.replace(/%([NPUT%])/g, (_, c: string) => (c === 'N' ? comm() : c === 'P' ? String(pid) : c === 'U' ? userName(pid) : c === 'T' ? time() : '%'));
  return isAbsolute(name) ? name : join(readlinkSync(`/proc/${pid}/cwd`), name);
}

/** Refuse, before anything runs, a template whose directory cannot take images. */
export function checkTemplate(template: string): void {
  const bad = /%[^NPUT%]/.exec(template);
  if (bad) throw new CkptError('USAGE', `unknown ${bad[0]} in image template "${template}" (use %N, %P, %U, %T or %%)`);
  if (!isAbsolute(template)) return; // relative to the program's directory: checked when used
  const dir = dirname(template);
  try {
    accessSync(dir, constants.W_OK);
  } catch (e) {
    throw new CkptError('IO', `cannot write images into ${dir} (${(e as { code?: string }).code ?? 'error'})`, { path: dir, hint: 'choose a writable directory with --image' });
  }
}
