// `ckpt check PID`: a preflight. Lists what a dump would do with every
// thread, fd and memory region, and what blocks it; changes nothing.
import { Command } from 'commander';
import { preflight, type Preflight, type ProcessPreflight, type MemoryReport } from '../dump/preflight.js';
import { CkptError, EXIT_CODES } from '../errors.js';
import { bytes, hex } from '../format.js';

const plural = (n: number, one: string) => `${n} ${one}${n === 1 ? '' : one.endsWith('s') ? 'es' : 's'}`;
const mib = (n: number) => `${(n / 1048576).toFixed(2)} MiB`;

function memoryText(m: MemoryReport): string {
  if (m.backing === 'anon') return m.detail.replace(/^saved \(\d+ bytes present/, `saved (${bytes(m.savedBytes)} present`);
  if (m.backing === 'file' && !m.prot.endsWith('s')) return `referenced (file, ${bytes(m.savedBytes)} copied-on-write saved)`;
  return m.detail;
}

export function verdict(r: Preflight): string {
  if (r.checkpointable) {
    if (r.processes.length > 1 || r.zombies.length) {
      const threads = r.processes.reduce((n, p) => n + p.threads.length, 0);
      const fds = r.processes.reduce((n, p) => n + p.fds.length, 0);
      return `PID ${r.pid} can be checkpointed with its tree: ${plural(r.processes.length, 'process')}${r.zombies.length ? ` and ${plural(r.zombies.length, 'zombie')}` : ''}, ${mib(r.treeMemoryBytes)} of memory to save (at most: pages shared since fork are saved once), ${plural(threads, 'thread')}, ${plural(fds, 'fd')}`;
    }
    return `PID ${r.pid} can be checkpointed: ${mib(r.memoryBytes)} of memory to save, ${plural(r.threads.length, 'thread')}, ${plural(r.fds.length, 'fd')}`;
  }
  return `PID ${r.pid} cannot be checkpointed yet:\n${r.blockers.map((b) => `  ${b}`).join('\n')}`;
}

export function formatPreflight(r: Preflight): string {
  const L: string[] = [];
  if (r.processes.length > 1 || r.zombies.length) {
    L.push(`Tree: ${plural(r.processes.length, 'process')}${r.zombies.length ? `, ${plural(r.zombies.length, 'zombie')} (saved with their exit status)` : ''}, checkpointed and restored together`);
    for (const p of r.processes) L.push(`  PID ${String(p.pid).padEnd(8)} PPID ${String(p.ppid).padEnd(8)} PGID ${String(p.pgid).padEnd(8)} SID ${String(p.sid).padEnd(8)} ${p.comm}`);
    for (const z of r.zombies) L.push(`  PID ${String(z.pid).padEnd(8)} PPID ${String(z.ppid).padEnd(8)} zombie ${z.comm}`);
    L.push('');
  }
  for (const p of r.processes) {
    formatProcess(L, p);
    L.push('');
  }
  L.push(verdict(r));
  return L.join('\n');
}

function formatProcess(L: string[], r: ProcessPreflight): void {
  L.push(`Process ${r.pid} (${r.comm})`);
  L.push(`Threads: ${r.threads.length} (saved: registers, signal mask and state; a blocked system call resumes)`);
  for (const t of r.threads) L.push(`  TID ${String(t.tid).padEnd(8)} ${t.state}  ${t.name.padEnd(16)} ${t.syscallName}`);
  L.push(`File descriptors: ${r.fds.length}`);
  const linkW = Math.min(40, Math.max(4, ...r.fds.map((f) => f.link.length)));
  const kindW = Math.max(4, ...r.fds.map((f) => (f.kind ?? '-').length));
  for (const f of r.fds) {
    const what = f.action === 'blocks' ? `BLOCKS: ${f.detail}` : `${f.action}: ${f.detail}`;
    L.push(`  fd ${String(f.fd).padEnd(4)} ${f.link.padEnd(linkW)}  ${(f.kind ?? '-').padEnd(kindW)}  ${what}`);
  }
  const measured = r.memory.every((m) => m.backing !== 'unknown');
  L.push(`Memory: ${plural(r.memory.length, 'region')}, ${measured ? `${bytes(r.memoryBytes)} to save` : 'not measured'}`);
  for (const m of r.memory) {
    const range = `${hex(m.start)}-${hex(m.end)}`;
    const text = m.action === 'blocks' ? `BLOCKS: ${m.detail}` : memoryText(m);
    L.push(`  ${range.padEnd(29)} ${m.prot}  ${text}${m.name ? `  ${m.name}` : ''}`);
  }
}

export function checkCommand(): Command {
  return new Command('check')
    .description('preflight: list what a dump would do with each process of the tree, thread, fd and memory region, and what blocks it')
    .argument('<pid>', 'process to check')
    .option('--tcp-close', 'as with dump --tcp-close: established TCP connections would be saved as closed')
    .option('--json', 'print the report as JSON')
    .addHelpText('after', `\nReads /proc only: the process is not stopped, traced or changed.\nExit status 0 when it can be checkpointed, ${EXIT_CODES.KIND_UNSUPPORTED} (KIND_UNSUPPORTED) when something blocks it.`)
    .action((pidArg: string, o: { json?: boolean; tcpClose?: boolean }) => {
      const pid = Number(pidArg);
      if (!/^\d+$/.test(pidArg) || pid <= 0) throw new CkptError('USAGE', `not a process ID: ${pidArg}`);
      const r = preflight(pid, { tcpClose: o.tcpClose });
      if (o.json) {
        const { pid: p, checkpointable, threads, fds, memory, blockers, memoryBytes, processes, zombies, treeMemoryBytes } = r;
        console.log(JSON.stringify({ pid: p, comm: r.comm, checkpointable, threads, fds, memory, blockers, memoryBytes, processes, zombies, treeMemoryBytes }, null, 2));
      } else {
        console.log(formatPreflight(r));
      }
      if (!r.checkpointable) process.exitCode = EXIT_CODES.KIND_UNSUPPORTED;
    });
}
