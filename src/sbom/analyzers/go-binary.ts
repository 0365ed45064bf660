// Go modules compiled into a binary, from the build info the Go linker embeds
// (section .go.buildinfo, magic "\xff Go buildinf:"). Only the Go 1.18+ layout with
// inline varint-prefixed strings is decoded; older binaries yield nothing.
//
// Which files: regular ELF files up to MAX_BINARY_BYTES that are executable or sit
// in a bin directory, skipping shared libraries by name. The walker checks the ELF
// magic before buffering more, so shell scripts cost a few bytes each.
import type { DetectedPackage } from '../types.js';
import type { Analyzer, AnalyzerOutput } from './analyzer.js';

export const MAX_BINARY_BYTES = 256 * 1024 * 1024;
const ELF_MAGIC = Buffer.from([0x7f, 0x45, 0x4c, 0x46]);
const BUILDINFO_MAGIC = Buffer.from('\xff Go buildinf:', 'latin1');
const BIN_DIR = /(?:^|\/)s?bin\/[^/]+$/;
const SHARED_LIBRARY = /\.so(?:\.[0-9.]+)?$/;
const DEVEL_VERSION = '(devel)';

export const goBinaryAnalyzer: Analyzer = {
  name: 'go-binary',
  version: 3,
  magic: ELF_MAGIC,
  wants: (path, info) =>
    info.size >= 64 &&
    info.size <= MAX_BINARY_BYTES &&
    ((info.mode & 0o111) !== 0 || BIN_DIR.test(path)) &&
    !SHARED_LIBRARY.test(path),
  analyze(file): AnalyzerOutput {
    const info = readGoBuildInfo(file.content);
    return { packages: info === undefined ? [] : goPackages(info, file.path) };
  },
};

export interface GoModule {
  path: string;
  version: string;
  sum?: string;
}

export interface GoBuildInfo {
  goVersion: string;
  path?: string;
  main?: GoModule;
  deps: GoModule[];
}

export function readGoBuildInfo(binary: Buffer): GoBuildInfo | undefined {
  const section = elfSection(binary, '.go.buildinfo');
  const start =
    section !== undefined ? binary.indexOf(BUILDINFO_MAGIC, section) : binary.indexOf(BUILDINFO_MAGIC);
  if (start < 0 || start + 32 > binary.length) return undefined;
  const flags = binary[start + 15] ?? 0;
  // Bit 2: strings inline after the 32-byte header (Go 1.18+). Without it they are pointers.
  if ((flags & 0x2) === 0) return undefined;
  let at = start + 32;
  const version = readVarString(binary, at);
  if (version === undefined) return undefined;
  at = version.next;
  const modinfo = readVarString(binary, at);
  if (modinfo === undefined) return undefined;
  let mod = modinfo.value;
  // The module info is framed by 16-byte sentinels.
  if (mod.length >= 33 && mod[mod.length - 17] === 0x0a) mod = mod.subarray(16, mod.length - 16);
  return parseModInfo(version.value.toString('utf8'), mod);
}

function readVarString(buf: Buffer, at: number): { value: Buffer; next: number } | undefined {
  let length = 0;
  let shift = 0;
  let pos = at;
  for (;;) {
    if (pos >= buf.length || shift > 35) return undefined;
    const b = buf[pos++] ?? 0;
    length += (b & 0x7f) * 2 ** shift;
    if ((b & 0x80) === 0) break;
    shift += 7;
  }
  if (pos + length > buf.length) return undefined;
  return { value: buf.subarray(pos, pos + length), next: pos + length };
}

export function parseModInfo(goVersion: string, modinfo: Buffer | string): GoBuildInfo {
  const info: GoBuildInfo = { goVersion, deps: [] };
  for (const line of modinfo.toString().split('\n')) {
    const fields = line.split('\t');
    const mod = (): GoModule => {
      const m: GoModule = { path: fields[1] ?? '', version: fields[2] ?? '' };
      if (fields[3] !== undefined && fields[3] !== '') m.sum = fields[3];
      return m;
    };
    switch (fields[0]) {
      case 'path':
        info.path = fields[1] ?? '';
        break;
      case 'mod':
        info.main = mod();
        break;
      case 'dep':
        info.deps.push(mod());
        break;
      case '=>': {
        // A replace directive applies to the line before it; the replacement is what was built.
        const last = info.deps.length > 0 ? info.deps.length - 1 : -1;
        if (last >= 0) info.deps[last] = mod();
        else if (info.main !== undefined) info.main = mod();
        break;
      }
    }
  }
  return info;
}

export function goPackages(info: GoBuildInfo, location: string): DetectedPackage[] {
  const packages: DetectedPackage[] = [];
  const stdlib = /^go(\d+(?:\.\d+)*(?:(?:rc|beta)\d+)?)/.exec(info.goVersion.split(' ')[0] ?? '');
  if (stdlib?.[1] !== undefined) {
    packages.push({ name: 'stdlib', version: stdlib[1], ecosystem: 'golang', location });
  }
  if (info.main !== undefined && info.main.path !== '') {
    // "(devel)" is what `go build` writes when it has no VCS stamp: a placeholder, not a
    // version. The module is reported without one, as Trivy does, so no purl claims it.
    const version = info.main.version === DEVEL_VERSION ? '' : info.main.version;
    packages.push({ name: info.main.path, version, ecosystem: 'golang', location });
  }
  for (const dep of info.deps) {
    if (dep.path === '' || dep.version === '') continue;
    packages.push({ name: dep.path, version: dep.version, ecosystem: 'golang', location });
  }
  return packages;
}

/**
 * Most section headers read. Go binaries have a few dozen; e_shnum is a 16-bit field,
 * and 65,535 headers that each sent a name lookup through the whole file made one
 * small hostile ELF cost minutes.
 */
export const MAX_ELF_SECTIONS = 4096;

/** An ELF whose section table breaks a rule or a bound: reported for the file, not skipped silently. */
export class ElfFormatError extends Error {}

/**
 * File offset of a named ELF section, or undefined when the headers do not say.
 * The section table is read once, and each name is compared in place inside the
 * section-name table, so the work is O(e_shnum) whatever the offsets point at.
 */
export function elfSection(elf: Buffer, name: string): number | undefined {
  if (elf.length < 64 || !elf.subarray(0, 4).equals(ELF_MAGIC)) return undefined;
  const is64 = elf[4] === 2;
  const little = elf[5] === 1;
  const u16 = (o: number): number => (little ? elf.readUInt16LE(o) : elf.readUInt16BE(o));
  const u32 = (o: number): number => (little ? elf.readUInt32LE(o) : elf.readUInt32BE(o));
  const uword = (o: number): number =>
    is64 ? Number(little ? elf.readBigUInt64LE(o) : elf.readBigUInt64BE(o)) : u32(o);
  const shoff = uword(is64 ? 0x28 : 0x20);
  const shentsize = u16(is64 ? 0x3a : 0x2e);
  const shnum = u16(is64 ? 0x3c : 0x30);
  const shstrndx = u16(is64 ? 0x3e : 0x32);
  // 0 sections (or e_shnum 0 with the count in section 0, for huge tables): nothing to read.
  if (shoff === 0 || shnum === 0) return undefined;
  const minEntry = is64 ? 64 : 40;
  if (shentsize < minEntry) {
    throw new ElfFormatError(
      `ELF section header size e_shentsize=${shentsize} is below the ${minEntry} bytes of a section header`,
    );
  }
  if (shnum > MAX_ELF_SECTIONS) {
    throw new ElfFormatError(
      `ELF declares ${shnum} sections, over the limit of ${MAX_ELF_SECTIONS} (MAX_ELF_SECTIONS)`,
    );
  }
  if (shstrndx >= shnum || shoff + shnum * shentsize > elf.length) return undefined;
  const header = (i: number): { name: number; offset: number; size: number } => {
    const at = shoff + i * shentsize;
    return {
      name: u32(at),
      offset: uword(at + (is64 ? 0x18 : 0x10)),
      size: uword(at + (is64 ? 0x20 : 0x14)),
    };
  };
  const strtab = header(shstrndx);
  if (strtab.offset + strtab.size > elf.length) return undefined;
  const wanted = Buffer.from(`${name}\0`, 'latin1');
  for (let i = 0; i < shnum; i++) {
    const h = header(i);
    if (h.name + wanted.length > strtab.size) continue;
    const start = strtab.offset + h.name;
    if (elf.compare(wanted, 0, wanted.length, start, start + wanted.length) !== 0) continue;
    if (h.offset + h.size <= elf.length) return h.offset;
  }
  return undefined;
}
