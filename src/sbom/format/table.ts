// Plain-text table of an inventory for the terminal (`shipshape sbom -o table`).
import type { ImageInventory } from '../types.js';

export function toTable(inventory: ImageInventory): string {
  const rows = [...inventory.packages]
    .sort((a, b) => a.ecosystem.localeCompare(b.ecosystem) || a.name.localeCompare(b.name))
    .map((p) => [p.name, p.version, p.ecosystem, p.sourceName ?? '', p.location]);
  const header = ['NAME', 'VERSION', 'TYPE', 'SOURCE', 'LOCATION'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  const os = inventory.os;
  const title =
    os === undefined ? 'OS: unknown' : `OS: ${os.prettyName ?? `${os.id} ${os.versionId ?? ''}`.trim()}`;
  const summary = `${inventory.packages.length} packages in ${inventory.layers.length} layers`;
  return [title, summary, '', line(header), ...rows.map(line), ''].join('\n');
}
