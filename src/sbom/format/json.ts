// The inventory as plain JSON (`shipshape sbom -o json`): Shipshape's own shape, stable keys.
import type { ImageInventory } from '../types.js';

export function toJson(inventory: ImageInventory): string {
  return `${JSON.stringify(inventory, null, 2)}\n`;
}
