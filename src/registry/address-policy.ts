// Which hosts and IP addresses the registry client may contact. Image references come
// from pod specs that any namespace user writes, so without this rule the operator
// could be steered at cloud metadata services (169.254.169.254), the API server or
// other in-cluster services. By default any public address is allowed and loopback,
// link-local, private, unspecified, multicast, documentation and reserved ranges are
// refused (also when an IPv6 form embeds such an IPv4 address) unless configuration
// allows a host name, an address or a CIDR explicitly, each on its own port. Pure: the
// transport calls it for the literal host and again for every resolved address.
import { isIP } from 'node:net';

export type AddressCategory =
  | 'public'
  | 'loopback'
  | 'private'
  | 'link-local'
  | 'unspecified'
  | 'multicast'
  | 'shared'
  | 'reserved'
  | 'documentation';

export type PolicyVerdict = { allowed: true } | { allowed: false; reason: string };

export interface AddressPolicyConfig {
  /**
   * Host names (exact or `*.suffix`), IP addresses or CIDRs that may be contacted even
   * if not public, each with an optional `:port` (`[v6]:port` for IPv6); without a port
   * an entry covers only 443 and 80 (DEFAULT_ALLOWED_PORTS), with `:*` every port.
   */
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
  documentation: 'documentation-range',
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
  ['192.0.2.0/24', 'documentation'],
  ['192.88.99.0/24', 'reserved'],
  ['198.18.0.0/15', 'reserved'],
  ['198.51.100.0/24', 'documentation'],
  ['203.0.113.0/24', 'documentation'],
  ['224.0.0.0/4', 'multicast'],
  ['240.0.0.0/4', 'reserved'],
  ['::/128', 'unspecified'],
  ['::1/128', 'loopback'],
  ['fe80::/10', 'link-local'],
  // Deprecated site-local (RFC 3879), still routed inside some networks like fc00::/7.
  ['fec0::/10', 'private'],
  ['fc00::/7', 'private'],
  ['ff00::/8', 'multicast'],
  ['64:ff9b:1::/48', 'private'],
  ['100::/64', 'reserved'],
  ['2001:db8::/32', 'documentation'],
  ['3fff::/20', 'documentation'],
];
const blockedCidrs = blockedRanges.map(([text, category]) => ({ cidr: parseCidr(text) as Cidr, category }));

/**
 * IPv6 forms that carry an IPv4 address a translator or tunnel relays to; each is
 * judged by the IPv4 address it reaches, so `64:ff9b::a9fe:a9fe` is as link-local as
 * 169.254.169.254. Checked after the IPv6 table, so `::` and `::1` keep their meaning.
 */
const embeddingRanges: ReadonlyArray<[string, (ip: Uint8Array) => Uint8Array[]]> = [
  // IPv4-compatible ::a.b.c.d (RFC 4291, deprecated but still parsed by stacks).
  ['::/96', (ip) => [ip.slice(12, 16)]],
  // SIIT ::ffff:0:a.b.c.d (RFC 2765).
  ['::ffff:0:0:0/96', (ip) => [ip.slice(12, 16)]],
  // NAT64 well-known prefix 64:ff9b::/96 (RFC 6052).
  ['64:ff9b::/96', (ip) => [ip.slice(12, 16)]],
  // 6to4 2002:AABB:CCDD::/48 (RFC 3056): the IPv4 address sits in bits 16-48.
  ['2002::/16', (ip) => [ip.slice(2, 6)]],
  // Teredo 2001:0::/32 (RFC 4380): server IPv4 in bits 32-64, client IPv4 inverted in the last 32.
  ['2001::/32', (ip) => [ip.slice(4, 8), ip.slice(12, 16).map((b) => b ^ 0xff)]],
];
const embeddingCidrs = embeddingRanges.map(([text, decode]) => ({ cidr: parseCidr(text) as Cidr, decode }));

function categoryOf(ip: Uint8Array): AddressCategory {
  for (const { cidr, category } of blockedCidrs) if (inCidr(ip, cidr)) return category;
  if (ip.length === 16) {
    for (const { cidr, decode } of embeddingCidrs) {
      if (!inCidr(ip, cidr)) continue;
      // Any embedded address that is not public makes the whole address not public.
      for (const v4 of decode(ip)) {
        const category = categoryOf(v4);
        if (category !== 'public') return category;
      }
      return 'public';
    }
  }
  return 'public';
}

/** The category of an IP literal, or undefined when the text is not an IP address. */
export function classifyAddress(address: string): AddressCategory | undefined {
  const ip = parseIp(address);
  return ip === undefined ? undefined : categoryOf(ip);
}

function normalizeHostName(host: string): string {
  return host.toLowerCase().replace(/\.$/, '');
}

/** `localhost` and `*.localhost` are loopback by definition (RFC 6761), whatever DNS says. */
function isLocalhostName(host: string): boolean {
  const h = normalizeHostName(host);
  return h === 'localhost' || h.endsWith('.localhost');
}

/**
 * The ports an allow entry written without a port covers: HTTPS and HTTP defaults only.
 * A bare `registry.internal` must not open every service on that host (etcd, kubelet,
 * admin ports) to whoever writes an image reference or answers with a redirect or a
 * token realm; a registry elsewhere is named with its port, `registry.internal:5000`.
 */
export const DEFAULT_ALLOWED_PORTS: readonly number[] = [443, 80];

/**
 * `host:*` admits every port: an explicit opt-in for hosts where anything listening is
 * a trusted registry (a developer's or a test's loopback registry on a random port).
 * Stored as 0, a port nothing connects to.
 */
const ANY_PORT = 0;

const HOST_NAME =
  /^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.?$/;

type AllowTarget =
  | { readonly kind: 'cidr'; readonly cidr: Cidr }
  | { readonly kind: 'name'; readonly name: string }
  | { readonly kind: 'suffix'; readonly suffix: string };

interface AllowRule {
  readonly target: AllowTarget;
  /** The ports it covers. */
  readonly ports: readonly number[];
}

/** Parses `host`, `host:port`, `*.suffix[:port]`, `a.b.c.d[:port]`, `[v6][:port]`, a bare IPv6 address, or `cidr[:port]`. */
function parseAllowEntry(entry: string): AllowRule | string {
  const invalid = `registry allow list entry "${entry}" is neither a host name, an IP address nor a CIDR (with an optional :port)`;
  const text = entry.trim();
  let host = text;
  let portText: string | undefined;
  const bracketed = /^\[([^\]]+)\](?::([^:]*))?$/.exec(text);
  const cidrPort = /^([^/]+\/\d{1,3}):([^:]*)$/.exec(text);
  const hostPort = /^([^:]+):([^:]*)$/.exec(text);
  if (bracketed !== null) [host, portText] = [bracketed[1] ?? '', bracketed[2]];
  else if (cidrPort !== null) [host, portText] = [cidrPort[1] ?? '', cidrPort[2]];
  else if (hostPort !== null) [host, portText] = [hostPort[1] ?? '', hostPort[2]];
  let ports = DEFAULT_ALLOWED_PORTS;
  if (portText === '*') ports = [ANY_PORT];
  else if (portText !== undefined) {
    if (!/^\d+$/.test(portText)) return invalid;
    const port = Number(portText);
    if (port < 1 || port > 65535) return `registry allow list entry "${entry}" has an invalid port (1-65535)`;
    ports = [port];
  }
  const cidr = parseCidr(host);
  if (cidr !== undefined) return { target: { kind: 'cidr', cidr }, ports };
  if (bracketed !== null) return invalid;
  if (host.startsWith('*.')) {
    // `*.` alone would become the empty suffix, which every host name ends with.
    const suffix = host.slice(2);
    if (!HOST_NAME.test(suffix))
      return `registry allow list entry "${entry}" is not a valid wildcard: write "*." followed by a domain, e.g. "*.corp.example"`;
    return { target: { kind: 'suffix', suffix: `.${normalizeHostName(suffix)}` }, ports };
  }
  if (!HOST_NAME.test(host)) return invalid;
  return { target: { kind: 'name', name: normalizeHostName(host) }, ports };
}

function covers(ports: readonly number[], port: number): boolean {
  return ports.includes(port) || ports.includes(ANY_PORT);
}

function describePorts(ports: readonly number[]): string {
  const list = [...new Set(ports)].sort((a, b) => a - b);
  return list.length === 1 ? `port ${list[0]}` : `ports ${list.join(', ')}`;
}

/**
 * The verdicts of the allow list and the address ranges. Every check takes the port
 * that will be connected to: an allow entry admits its host only on its own port (or
 * on 443/80 when it names none). Public addresses need no entry, on any port, unless
 * `allowPublic` is false. An IPv6 address that embeds an IPv4 one (NAT64, 6to4,
 * Teredo, ...) is classified by what it embeds, but matched against the allow list
 * only as written: allowing 10.0.0.0/8 does not allow 2002:a00:1:: too.
 */
export class AddressPolicy {
  private readonly rules: AllowRule[] = [];
  private readonly allowPublic: boolean;

  constructor(config: AddressPolicyConfig = {}) {
    this.allowPublic = config.allowPublic ?? true;
    for (const entry of config.allow ?? []) {
      const rule = parseAllowEntry(entry);
      if (typeof rule === 'string') throw new Error(rule);
      this.rules.push(rule);
    }
  }

  private namePorts(host: string): number[] {
    const h = normalizeHostName(host);
    return this.rules.flatMap(({ target, ports }) =>
      (target.kind === 'name' && target.name === h) || (target.kind === 'suffix' && h.endsWith(target.suffix))
        ? ports
        : [],
    );
  }

  private ipPorts(ip: Uint8Array): number[] {
    return this.rules.flatMap(({ target, ports }) =>
      target.kind === 'cidr' && inCidr(ip, target.cidr) ? ports : [],
    );
  }

  /** Whether configuration names this host for this port (then its resolved addresses are trusted too). */
  isHostNameAllowed(host: string, port: number): boolean {
    return covers(this.namePorts(host), port);
  }

  private checkIp(ip: Uint8Array, category: AddressCategory, port: number, shown: string): PolicyVerdict {
    const ports = this.ipPorts(ip);
    if (covers(ports, port)) return { allowed: true };
    if (category === 'public' && this.allowPublic) return { allowed: true };
    if (ports.length > 0)
      return { allowed: false, reason: `${shown} is allow-listed only on ${describePorts(ports)}` };
    if (category === 'public')
      return { allowed: false, reason: 'only allow-listed registries may be contacted' };
    return { allowed: false, reason: `${categoryWords[category]} addresses are blocked` };
  }

  /** Judges the host as written in a reference, redirect or token realm (before any DNS), for `port`. */
  checkHost(host: string, port: number): PolicyVerdict {
    const ip = parseIp(host);
    if (ip !== undefined) return this.checkIp(ip, categoryOf(ip), port, host);
    if (this.isHostNameAllowed(host, port)) return { allowed: true };
    if (isLocalhostName(host)) {
      // Judged as the loopback address it must resolve to, so allowing 127.0.0.1 allows it.
      const verdict = this.checkIp(Uint8Array.of(127, 0, 0, 1), 'loopback', port, '127.0.0.1');
      if (!verdict.allowed)
        return { allowed: false, reason: `${host} is a loopback name, and ${verdict.reason}` };
      return verdict;
    }
    const ports = this.namePorts(host);
    if (!this.allowPublic) {
      return ports.length > 0
        ? { allowed: false, reason: `${host} is allow-listed only on ${describePorts(ports)}` }
        : { allowed: false, reason: 'only allow-listed registries may be contacted' };
    }
    return { allowed: true };
  }

  /** Judges one address that a host name resolved to, for `port`; this is what is actually connected to. */
  checkResolved(host: string, address: string, port: number): PolicyVerdict {
    if (this.isHostNameAllowed(host, port)) return { allowed: true };
    const ip = parseIp(address);
    if (ip === undefined) return { allowed: false, reason: `${host} resolved to an unparsable address` };
    const category = categoryOf(ip);
    const verdict = this.checkIp(ip, category, port, address);
    if (verdict.allowed || category === 'public') return verdict;
    const named = this.namePorts(host);
    const hint = named.length > 0 ? ` (${host} is allow-listed only on ${describePorts(named)})` : '';
    return { allowed: false, reason: `${host} resolves to ${address}, and ${verdict.reason}${hint}` };
  }
}
