// ELF64 core-file structures (elf.h, linux/elfcore.h) for x86_64.
export const EHDR_SIZE = 64;
export const PHDR_SIZE = 56;
export const ET_CORE = 4;
export const EM_X86_64 = 62;
export const PT_LOAD = 1;
export const PT_NOTE = 4;
export const PF_X = 1, PF_W = 2, PF_R = 4;

export interface Phdr {
  type: number; flags: number; offset: number; vaddr: number; filesz: number; memsz: number; align: number;
}

export function encodeEhdr(phnum: number): Buffer {
  const b = Buffer.alloc(EHDR_SIZE);
  b.write('\x7fELF', 0, 'latin1');
  b[4] = 2; // ELFCLASS64
  b[5] = 1; // little endian
  b[6] = 1; // EV_CURRENT
  b[7] = 0; // System V ABI
  b.writeUInt16LE(ET_CORE, 16);
  b.writeUInt16LE(EM_X86_64, 18);
  b.writeUInt32LE(1, 20);
  b.writeBigUInt64LE(BigInt(EHDR_SIZE), 32); // e_phoff
  b.writeUInt16LE(EHDR_SIZE, 52);
  b.writeUInt16LE(PHDR_SIZE, 54);
  b.writeUInt16LE(phnum, 56);
  b.writeUInt16LE(64, 58); // e_shentsize
  return b;
}

export function decodeEhdr(b: Buffer): { phoff: number; phnum: number } {
  if (b.length < EHDR_SIZE || b.toString('latin1', 0, 4) !== '\x7fELF') throw new Error('not an ELF file');
  if (b[4] !== 2 || b[5] !== 1) throw new Error('not a 64-bit little-endian ELF file');
  if (b.readUInt16LE(16) !== ET_CORE) throw new Error('not an ELF core file');
  if (b.readUInt16LE(18) !== EM_X86_64) throw new Error('not an x86_64 core file');
  if (b.readUInt16LE(54) !== PHDR_SIZE) throw new Error('unexpected program header size');
  return { phoff: Number(b.readBigUInt64LE(32)), phnum: b.readUInt16LE(56) };
}

export function encodePhdr(p: Phdr): Buffer {
  const b = Buffer.alloc(PHDR_SIZE);
  b.writeUInt32LE(p.type, 0);
  b.writeUInt32LE(p.flags, 4);
  b.writeBigUInt64LE(BigInt(p.offset), 8);
  b.writeBigUInt64LE(BigInt(p.vaddr), 16);
  b.writeBigUInt64LE(BigInt(p.vaddr), 24); // p_paddr
  b.writeBigUInt64LE(BigInt(p.filesz), 32);
  b.writeBigUInt64LE(BigInt(p.memsz), 40);
  b.writeBigUInt64LE(BigInt(p.align), 48);
  return b;
}

export function decodePhdr(b: Buffer, at: number): Phdr {
  return {
    type: b.readUInt32LE(at),
    flags: b.readUInt32LE(at + 4),
    offset: Number(b.readBigUInt64LE(at + 8)),
    vaddr: Number(b.readBigUInt64LE(at + 16)),
    filesz: Number(b.readBigUInt64LE(at + 32)),
    memsz: Number(b.readBigUInt64LE(at + 40)),
    align: Number(b.readBigUInt64LE(at + 48)),
  };
}

export interface Note { name: string; type: number; desc: Buffer }

const pad4 = (n: number) => Math.ceil(n / 4) * 4;

export function encodeNotes(notes: Note[]): Buffer {
  const parts: Buffer[] = [];
  for (const n of notes) {
    const name = Buffer.from(n.name + '\0', 'latin1');
    const h = Buffer.alloc(12);
    h.writeUInt32LE(name.length, 0);
    h.writeUInt32LE(n.desc.length, 4);
    h.writeUInt32LE(n.type, 8);
    parts.push(h, name, Buffer.alloc(pad4(name.length) - name.length), n.desc, Buffer.alloc(pad4(n.desc.length) - n.desc.length));
  }
  return Buffer.concat(parts);
}

export function decodeNotes(b: Buffer): Note[] {
  const out: Note[] = [];
  let at = 0;
  while (at + 12 <= b.length) {
    const namesz = b.readUInt32LE(at);
    const descsz = b.readUInt32LE(at + 4);
    const type = b.readUInt32LE(at + 8);
    const nameAt = at + 12;
    const descAt = nameAt + pad4(namesz);
    if (descAt + descsz > b.length) throw new Error('note runs past the end of the note segment');
    out.push({ name: b.toString('latin1', nameAt, nameAt + Math.max(0, namesz - 1)), type, desc: b.subarray(descAt, descAt + descsz) });
    at = descAt + pad4(descsz);
  }
  return out;
}

/** struct elf_prstatus (336 bytes on x86_64) with the thread's user_regs_struct. */
export function prstatus(o: { signal: number; pid: number; ppid: number; pgrp: number; sid: number; sigpend: bigint; sighold: bigint; regs: Buffer }): Buffer {
  const b = Buffer.alloc(336);
  b.writeInt32LE(o.signal, 0); // pr_info.si_signo
  b.writeInt16LE(o.signal, 12); // pr_cursig
  b.writeBigUInt64LE(o.sigpend, 16);
  b.writeBigUInt64LE(o.sighold, 24);
  b.writeInt32LE(o.pid, 32);
  b.writeInt32LE(o.ppid, 36);
  b.writeInt32LE(o.pgrp, 40);
  b.writeInt32LE(o.sid, 44);
  o.regs.copy(b, 112, 0, 216);
  b.writeInt32LE(1, 328); // pr_fpvalid
  return b;
}

/** struct elf_prpsinfo (136 bytes on x86_64). */
export function prpsinfo(o: { state: string; pid: number; ppid: number; pgrp: number; sid: number; uid: number; gid: number; fname: string; args: string }): Buffer {
  const b = Buffer.alloc(136);
  const states = 'RSDTZW';
  const s = Math.max(0, states.indexOf(o.state));
  b[0] = s;
  b.write(o.state || 'R', 1, 'latin1');
  b.writeUInt32LE(o.uid, 16);
  b.writeUInt32LE(o.gid, 20);
  b.writeInt32LE(o.pid, 24);
  b.writeInt32LE(o.ppid, 28);
  b.writeInt32LE(o.pgrp, 32);
  b.writeInt32LE(o.sid, 36);
  b.write(o.fname.slice(0, 15), 40, 'latin1');
  b.write(o.args.slice(0, 79), 56, 'latin1');
  return b;
}

/** NT_FILE: the file-backed mappings, as gdb reads them to find libraries. */
export function ntFile(maps: Array<{ start: number; end: number; offset: number; path: string }>): Buffer {
  const head = Buffer.alloc(16 + maps.length * 24);
  head.writeBigUInt64LE(BigInt(maps.length), 0);
  head.writeBigUInt64LE(4096n, 8);
  maps.forEach((m, i) => {
    head.writeBigUInt64LE(BigInt(m.start), 16 + i * 24);
    head.writeBigUInt64LE(BigInt(m.end), 24 + i * 24);
    head.writeBigUInt64LE(BigInt(m.offset / 4096), 32 + i * 24);
  });
  return Buffer.concat([head, ...maps.map((m) => Buffer.from(m.path + '\0'))]);
}
