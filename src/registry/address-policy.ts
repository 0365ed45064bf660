// Which hosts and IP addresses the registry client may contact. Image references come
// from pod specs that any namespace user writes, so without this rule the operator
// could be steered at cloud metadata services (169.254.169.254), the API server or
// other in-cluster services. By default any public address is allowed and loopback,
// link-local, private, unspecified, multicast and reserved ranges are refused unless
// configuration allows a host name, an address or a CIDR explicitly. Pure: the
// transport calls it for the literal host and again for every resolved address.
import { isIP } from 'node:net';

export type AddressCategory =
  'public' | 'loopback' | 'private' | 'link-local' | 'unspecified' | 'multicast' | 'shared' | 'reserved';

export type PolicyVerdict = { allowed: true } | { allowed: false; reason: string };

export interface AddressPolicyConfig {
  /** Host names (exact or `*.suffix`), IP addresses or CIDRs that may be contacted even if not public. */
  readonly allow?: readonly string[];
  /** Whether public addresses are allowed at all (default true); false means "only the allow list". */
  readonly allowPublic?: boolean;
}

const categoryWords: Record<Exclude<AddressCategory, 'public'>, string> = {
  loopback: 'loopback',
  private: 'private-network',
  'link-local': 'link-local',
  unspecified: 'unspecified',
  multicast: 'multicast',
  shared: 'shared (carrier-grade NAT)',
  reserved: 'reserved',
};

interface Cidr {
  readonly bytes: Uint8Array;
  readonly prefix: number;
}

/** Parses an IPv4 or IPv6 literal (brackets and zone ids tolerated) to bytes; IPv4-mapped IPv6 becomes IPv4. */
export function parseIp(text: string): Uint8Array | undefined {
  let t = text.trim();
  if (t.startsWith('[') && t.endsWith(']')) t = t.slice(1, -1);
  const zone = t.indexOf('%');
  if (zone >= 0) t = t.slice(0, zone);
  const version = isIP(t);
  if (version === 4) return Uint8Array.from(t.split('.').map(Number));
  if (version !== 6) return undefined;
  const bytes = parseIpv6(t);
  if (bytes === undefined) return undefined;
  // ::ffff:a.b.c.d reaches the IPv4 host a.b.c.d, so it is judged as that host.
  const mapped = bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
  return mapped ? bytes.slice(12) : bytes;
}

function parseIpv6(text: string): Uint8Array | undefined {
  let head = text;
  let tailV4: number[] = [];
  const lastColon = text.lastIndexOf(':');
  if (text.slice(lastColon + 1).includes('.')) {
    tailV4 = text
      .slice(lastColon + 1)
      .split('.')
      .map(Number);
    head = text.slice(0, lastColon + 1) + '0:0';
  }
  const [left, right, ...more] = head.split('::');
  if (more.length > 0 || left === undefined) return undefined;
  const groups = (s: string | undefined): number[] =>
    s === undefined || s === '' ? [] : s.split(':').map((g) => parseInt(g, 16));
  const l = groups(left);
  const r = groups(right);
  const fill = right === undefined ? 0 : 8 - l.length - r.length;
  const all = [...l, ...new Array<number>(fill).fill(0), ...r];
  if (all.length !== 8 || all.some((g) => Number.isNaN(g))) return undefined;
  const bytes = new Uint8Array(16);
  all.forEach((g, i) => {
    bytes[i * 2] = g >> 8;
    bytes[i * 2 + 1] = g & 0xff;
  });
  if (tailV4.length === 4) bytes.set(tailV4, 12);
  return bytes;
}

function parseCidr(text: string): Cidr | undefined {
  const slash = text.indexOf('/');
  const bytes = parseIp(slash < 0 ? text : text.slice(0, slash));
  if (bytes === undefined) return undefined;
  const max = bytes.length * 8;
  let prefix = slash < 0 ? max : Number(text.slice(slash + 1));
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > 128) return undefined;
  // An IPv4-mapped CIDR written in IPv6 form keeps its meaning for the IPv4 bytes.
  if (bytes.length === 4 && prefix > 32) prefix -= 96;
  if (prefix < 0 || prefix > max) return undefined;
  return { bytes, prefix };
}

function inCidr(ip: Uint8Array, cidr: Cidr): boolean {
  if (ip.length !== cidr.bytes.length) return false;
  let bits = cidr.prefix;
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if (((ip[i] ?? 0) & mask) !== ((cidr.bytes[i] ?? 0) & mask)) return false;
  }
  return true;
}

const blockedRanges: ReadonlyArray<[string, Exclude<AddressCategory, 'public'>]> = [
  ['0.0.0.0/8', 'unspecified'],
  ['127.0.0.0/8', 'loopback'],
  ['10.0.0.0/8', 'private'],
  ['172.16.0.0/12', 'private'],
  ['192.168.0.0/16', 'private'],
  ['100.64.0.0/10', 'shared'],
  ['169.254.0.0/16', 'link-local'],
  ['192.0.0.0/24', 'reserved'],
  ['198.18.0.0/15', 'reserved'],
  ['224.0.0.0/4', 'multicast'],
  ['240.0.0.0/4', 'reserved'],
  ['::/128', 'unspecified'],
  ['::1/128', 'loopback'],
  ['fe80::/10', 'link-local'],
  ['fc00::/7', 'private'],
  ['ff00::/8', 'multicast'],
  ['64:ff9b:1::/48', 'private'],
  ['100::/64', 'reserved'],
];
const blockedCidrs = blockedRanges.map(([text, category]) => ({ cidr: parseCidr(text) as Cidr, category }));

/** The category of an IP literal, or undefined when the text is not an IP address. */
export function classifyAddress(address: string): AddressCategory | undefined {
  const ip = parseIp(address);
  if (ip === undefined) return undefined;
  for (const { cidr, category } of blockedCidrs) if (inCidr(ip, cidr)) return category;
  return 'public';
}

function normalizeHostName(host: string): string {
  return host.toLowerCase().replace(/\.$/, '');
}

/** `localhost` and `*.localhost` are loopback by definition (RFC 6761), whatever DNS says. */
function isLocalhostName(host: string): boolean {
  const h = normalizeHostName(host);
  return h === 'localhost' || h.endsWith('.localhost');
}

export class AddressPolicy {
  private readonly allowedCidrs: Cidr[] = [];
  private readonly allowedNames: string[] = [];
  private readonly allowedSuffixes: string[] = [];
  private readonly allowPublic: boolean;

  constructor(config: AddressPolicyConfig = {}) {
    this.allowPublic = config.allowPublic ?? true;
    for (const entry of config.allow ?? []) {
      const cidr = parseCidr(entry);
      if (cidr !== undefined) this.allowedCidrs.push(cidr);
      else if (entry.startsWith('*.')) this.allowedSuffixes.push(normalizeHostName(entry.slice(1)));
      else if (/^[A-Za-z0-9.-]+$/.test(entry)) this.allowedNames.push(normalizeHostName(entry));
      else
        throw new Error(
          `registry allow list entry "${entry}" is neither a host name, an IP address nor a CIDR`,
        );
    }
  }

  /** Whether configuration names this host explicitly (then its resolved addresses are trusted too). */
  isHostNameAllowed(host: string): boolean {
    const h = normalizeHostName(host);
    return this.allowedNames.includes(h) || this.allowedSuffixes.some((s) => h.endsWith(s));
  }

  private checkIp(ip: Uint8Array, category: AddressCategory): PolicyVerdict {
    if (this.allowedCidrs.some((c) => inCidr(ip, c))) return { allowed: true };
    if (category === 'public') {
      return this.allowPublic
        ? { allowed: true }
        : { allowed: false, reason: 'only allow-listed registries may be contacted' };
    }
    return { allowed: false, reason: `${categoryWords[category]} addresses are blocked` };
  }

  /** Judges the host as written in a reference or redirect (before any DNS). */
  checkHost(host: string): PolicyVerdict {
    const ip = parseIp(host);
    if (ip !== undefined) return this.checkIp(ip, classifyAddress(host) ?? 'public');
    if (this.isHostNameAllowed(host)) return { allowed: true };
    if (isLocalhostName(host)) {
      // Judged as the loopback address it must resolve to, so allowing 127.0.0.1 allows it.
      const verdict = this.checkIp(Uint8Array.of(127, 0, 0, 1), 'loopback');
      if (!verdict.allowed)
        return { allowed: false, reason: `${host} is a loopback name, and ${verdict.reason}` };
      return verdict;
    }
    if (!this.allowPublic) return { allowed: false, reason: 'only allow-listed registries may be contacted' };
    return { allowed: true };
  }

  /** Judges one address that a host name resolved to; this is what is actually connected to. */
  checkResolved(host: string, address: string): PolicyVerdict {
    if (this.isHostNameAllowed(host)) return { allowed: true };
    const ip = parseIp(address);
    const category = classifyAddress(address);
    if (ip === undefined || category === undefined)
      return { allowed: false, reason: `${host} resolved to an unparsable address` };
    const verdict = this.checkIp(ip, category);
    if (verdict.allowed || category === 'public') return verdict;
    return { allowed: false, reason: `${host} resolves to ${address}, and ${verdict.reason}` };
  }
}
