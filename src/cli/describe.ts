// `ckpt info`: what an image holds, for people and for programs.
import * as v from 'valibot';
import { ImageReader } from '../image/reader.js';
import { processesOf, type ProcessImage } from '../image/format.js';
import { reg, sreg, REG_NAMES } from '../sys/regs.js';
import { kindByTag } from '../kinds/index.js';
import { describeAction } from '../kinds/signals.js';
import { bytes, hex } from '../format.js';

const RLIMIT_NAMES = ['CPU', 'FSIZE', 'DATA', 'STACK', 'CORE', 'RSS', 'NPROC', 'NOFILE', 'MEMLOCK', 'AS', 'LOCKS', 'SIGPENDING', 'MSGQUEUE', 'NICE', 'RTPRIO', 'RTTIME'];

function describeFd(tag: string, state: unknown): string {
  const kind = kindByTag(tag);
  if (!kind) return `${tag} (a kind this ckpt does not know)`;
  const parsed = v.safeParse(kind.schema, state);
  return parsed.success ? kind.describe(parsed.output) : `${tag} (invalid state in the image)`;
}

const saved = (p: ProcessImage) => p.vmas.reduce((n, v) => n + v.runs.reduce((k, r) => k + r.end - r.start, 0), 0);

/** Every process of the image (the root first) and every zombie, with its place in the tree. */
export function treeSummary(img: ImageReader) {
  const m = img.meta;
  const live = processesOf(m).map((p) => ({
    pid: p.process.pid, ppid: p.process.ppid, pgid: p.process.pgid ?? null, sid: p.process.sid ?? null, comm: p.process.comm,
    state: p.process.stopped ? 'stopped' : 'running', threads: p.threads.length, fds: p.files.length, savedBytes: saved(p),
    cmdline: p.process.cmdline,
  }));
  const zombies = m.zombies.map((z) => ({
    pid: z.pid, ppid: z.ppid, pgid: z.pgid, sid: z.sid, comm: z.comm, state: 'zombie', threads: 0, fds: 0, savedBytes: 0, cmdline: [] as string[],
    exit: z.signal !== null ? `killed by signal ${z.signal}` : `exit ${z.exitCode}`,
  }));
  // Objects held by several fds: one line each, with every holder.
  const objects = new Map<string, { object: string; holders: Array<{ pid: number; fd: number }> }>();
  const keyOf = (pid: number, fd: number): string => {
    const rec = processesOf(m).find((p) => p.process.pid === pid)?.files.find((f) => f.fd === fd);
    if (!rec) return `${pid}:${fd}`;
    if (rec.kind === 'dup') return keyOf(pid, (rec.state as { of: number }).of);
    if (rec.kind === 'shared') return keyOf((rec.state as { pid: number }).pid, (rec.state as { fd: number }).fd);
    const st = rec.state as { ino?: number; end?: string; pair?: { key: string } | null };
    if (rec.kind === 'pipe' && st.ino !== undefined) return `pipe ${st.ino}`;
    if (rec.kind === 'unix-socket' && st.pair) return `unix socket pair ${st.pair.key}`;
    return `${pid}:${fd}`;
  };
  for (const p of processesOf(m)) {
    for (const f of p.files) {
      const key = keyOf(p.process.pid, f.fd);
      const first = key.includes(':') ? processesOf(m).flatMap((q) => q.files.map((g) => ({ q, g }))).find(({ q, g }) => `${q.process.pid}:${g.fd}` === key) : undefined;
      const object = first ? `fd ${first.g.fd} of ${first.q.process.pid}: ${describeFd(first.g.kind, first.g.state)}` : key;
      const o = objects.get(key) ?? { object, holders: [] };
      o.holders.push({ pid: p.process.pid, fd: f.fd });
      objects.set(key, o);
    }
  }
  return { processes: [...live, ...zombies], shared: [...objects.values()].filter((o) => o.holders.length > 1) };
}

export function imageSummary(img: ImageReader) {
  const m = img.meta;
  return {
    ...treeSummary(img),
    image: { path: img.path, size: img.size, format: `${m.format.major}.${m.format.minor}`, createdAt: m.createdAt, host: m.host, tool: m.tool },
    process: { pid: m.process.pid, comm: m.process.comm, cmdline: m.process.cmdline, exe: m.process.exe?.path ?? null, cwd: m.process.cwd, uid: m.process.uid, gid: m.process.gid, umask: m.process.umask.toString(8) },
    dump: m.dump,
    threads: m.threads.map((t) => ({ t, regs: Buffer.from(t.regs, 'base64') })).map(({ t, regs }) => ({
      tid: t.tid, name: t.name, sigmask: t.sigmask, pendingSignals: t.pending.map((p) => Buffer.from(p, 'base64').readInt32LE(0)),
      registers: Object.fromEntries(REG_NAMES.map((n) => [n, n === 'rax' || n === 'orig_rax' ? sreg(regs, n).toString() : `0x${reg(regs, n).toString(16)}`])),
      altstack: t.altstack, rseq: t.rseq,
    })),
    memory: m.vmas.map((v) => ({
      start: hex(v.start), end: hex(v.end), prot: v.prot + (v.shared ? 's' : 'p'), backing: v.backing, name: v.name,
      savedBytes: v.runs.reduce((n, r) => n + r.end - r.start, 0),
    })),
    files: m.files.map((f) => ({ fd: f.fd, kind: f.kind, cloexec: f.cloexec, description: describeFd(f.kind, f.state), state: f.state })),
    signals: { actions: m.signals.actions, sharedPending: m.signals.sharedPending.map((p) => Buffer.from(p, 'base64').readInt32LE(0)) },
    timers: m.timers,
    rlimits: Object.fromEntries(m.process.rlimits.map(([s, h], i) => [RLIMIT_NAMES[i] ?? String(i), [s, h]])),
  };
}

export function describeImage(img: ImageReader): string {
  const s = imageSummary(img);
  const m = img.meta;
  const L: string[] = [];
  const saved = s.memory.reduce((n, v) => n + v.savedBytes, 0);
  L.push(`Image:    ${s.image.path} (${bytes(s.image.size)}, format ${s.image.format}, ckpt ${s.image.tool.version})`);
  L.push(`Taken:    ${s.image.createdAt} on ${s.image.host.hostname} (Linux ${s.image.host.kernel}, ${s.image.host.arch}); frozen ${s.dump.frozenMs.toFixed(1)} ms`);
  if (s.processes.length > 1) {
    L.push(`Tree:     ${s.processes.length} processes (the root and what follows is the root's own state below)`);
    L.push(`  ${'PID'.padStart(7)} ${'PPID'.padStart(7)} ${'PGID'.padStart(7)} ${'SID'.padStart(7)}  STATE    THR  FDS      SAVED  COMMAND`);
    for (const p of s.processes) {
      const cmd = p.cmdline.length ? p.cmdline.join(' ') : p.comm;
      const state = 'exit' in p ? `zombie (${(p as { exit: string }).exit})` : p.state;
      L.push(`  ${String(p.pid).padStart(7)} ${String(p.ppid).padStart(7)} ${String(p.pgid ?? '-').padStart(7)} ${String(p.sid ?? '-').padStart(7)}  ${state.padEnd(8)} ${String(p.threads).padStart(3)} ${String(p.fds).padStart(4)} ${bytes(p.savedBytes).padStart(10)}  ${cmd.slice(0, 60)}`);
    }
    if (s.shared.length) {
      L.push(`Shared:   ${s.shared.length} objects held by several fds`);
      for (const o of s.shared) L.push(`  ${o.object}: ${o.holders.map((h) => `${h.pid}/fd ${h.fd}`).join(', ')}`);
    }
  }
  L.push(`Process:  PID ${s.process.pid} ${s.process.comm}: ${JSON.stringify(s.process.cmdline.join(' '))}`);
  L.push(`          exe ${s.process.exe ?? '-'}, cwd ${s.process.cwd}, uid ${s.process.uid.join('/')}, gid ${s.process.gid.join('/')}, umask ${s.process.umask}`);
  for (const t of s.threads) {
    const r = t.registers;
    L.push(`Thread:   TID ${t.tid} (${t.name}) rip ${r.rip} rsp ${r.rsp} rax ${r.rax} orig_rax ${r.orig_rax} fs_base ${r.fs_base}`);
    L.push(`          blocked signals 0x${t.sigmask}; pending ${t.pendingSignals.join(', ') || 'none'}; altstack ${t.altstack.flags === 2 ? 'none' : `${hex(t.altstack.sp)} (${t.altstack.size} bytes)`}`);
  }
  L.push(`Memory:   ${s.memory.length} regions, ${bytes(saved)} saved`);
  for (const v of s.memory) L.push(`  ${v.start.padStart(14)}-${v.end.padEnd(14)} ${v.prot} ${v.backing.padEnd(7)} ${bytes(v.savedBytes).padStart(10)}  ${v.name}`);
  L.push(`Files:    ${s.files.length} descriptors`);
  for (const f of s.files) L.push(`  ${String(f.fd).padStart(4)}${f.cloexec ? '*' : ' '} ${f.description}`);
  L.push(`Signals:  ${m.signals.actions.length} with a non-default action; ${s.signals.sharedPending.length} pending for the process`);
  for (const a of m.signals.actions) L.push(`  ${describeAction(a)}`);
  const it = m.timers.itimers.map((t) => `${['real', 'virtual', 'prof'][t.which]} ${t.valueUs} us (every ${t.intervalUs} us)`);
  const pt = m.timers.posix.map((t) => `#${t.id} clock ${t.clockId} sig ${t.signal} in ${t.valueNs} ns (every ${t.intervalNs} ns)`);
  L.push(`Timers:   ${[...it, ...pt].join('; ') || 'none'}`);
  return L.join('\n');
}
