// Errors of the registry client as values: a stable machine-readable reason plus a
// message a user can act on. They travel into ImageReports and Events, so they must
// never contain credentials or tokens (only registry, repository and secret names).

export type RegistryErrorReason =
  | 'InvalidReference'
  | 'RegistryNotAllowed'
  | 'Unauthorized'
  | 'NotFound'
  | 'ManifestTooLarge'
  | 'BlobTooLarge'
  | 'DigestMismatch'
  | 'SizeMismatch'
  | 'UnsupportedMediaType'
  | 'InvalidManifest'
  | 'NoMatchingPlatform'
  | 'Timeout'
  | 'TooManyRedirects'
  | 'RateLimited'
  | 'RegistryUnavailable'
  | 'UnexpectedStatus'
  | 'NetworkError'
  | 'InvalidConfiguration';

export interface RegistryErrorDetails {
  registry?: string;
  repository?: string;
  status?: number;
  /** True when trying again later may succeed (network, 5xx, 429, timeouts). */
  retryable?: boolean;
}

export class RegistryError extends Error {
  readonly reason: RegistryErrorReason;
  readonly registry: string | undefined;
  readonly repository: string | undefined;
  readonly status: number | undefined;
  readonly retryable: boolean;

  constructor(reason: RegistryErrorReason, message: string, details: RegistryErrorDetails = {}) {
    super(message);
    this.name = 'RegistryError';
    this.reason = reason;
    this.registry = details.registry;
    this.repository = details.repository;
    this.status = details.status;
    this.retryable = details.retryable ?? false;
  }

  /** The plain-data form that reports and Events carry. */
  toJSON(): { reason: RegistryErrorReason; message: string; registry?: string; repository?: string } {
    return {
      reason: this.reason,
      message: this.message,
      ...(this.registry === undefined ? {} : { registry: this.registry }),
      ...(this.repository === undefined ? {} : { repository: this.repository }),
    };
  }
}

export function isRegistryError(value: unknown): value is RegistryError {
  return value instanceof RegistryError;
}
