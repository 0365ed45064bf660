// A minimal ustar writer for building test image layers in memory.
export interface TarEntry {
  path: string;
  content?: Buffer | string;
  type?: 'file' | 'dir' | 'symlink' | 'hardlink';
  linkTarget?: string;
  mode?: number;
}

const TYPE_FLAG = { file: '0', hardlink: '1', symlink: '2', dir: '5' } as const;

function octal(value: number, width: number): string {
  return value.toString(8).padStart(width - 1, '0') + '\0';
}

export function tarHeader(entry: TarEntry, size: number): Buffer {
  const header = Buffer.alloc(512);
  const type = entry.type ?? 'file';
  if (Buffer.byteLength(entry.path) > 100) throw new Error(`tar path too long for ustar: ${entry.path}`);
  header.write(entry.path, 0, 100, 'utf8');
  header.write(octal(entry.mode ?? (type === 'dir' ? 0o755 : 0o644), 8), 100);
  header.write(octal(0, 8), 108);
  header.write(octal(0, 8), 116);
  header.write(octal(size, 12), 124);
  header.write(octal(0, 12), 136);
  header.write('        ', 148);
  header.write(TYPE_FLAG[type], 156);
  if (entry.linkTarget) header.write(entry.linkTarget, 157, 100, 'utf8');
  header.write('ustar\0', 257);
  header.write('00', 263);
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(octal(sum, 7) + ' ', 148);
  return header;
}

export function tar(entries: TarEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const entry of entries) {
    const content = entry.type && entry.type !== 'file' ? Buffer.alloc(0) : Buffer.from(entry.content ?? '');
    parts.push(tarHeader(entry, content.length), content, Buffer.alloc((512 - (content.length % 512)) % 512));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}
