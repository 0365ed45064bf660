// The admission.k8s.io/v1 AdmissionReview wire format, and the one parser
// that turns an untrusted request body into a typed request (or a reason it
// is not one). @kubernetes/client-node ships no types for AdmissionReview, so
// the few fields the webhook reads are declared here.
import type { KubernetesObject } from '@kubernetes/client-node';

export interface GroupVersionKind {
  group: string;
  version: string;
  kind: string;
}

export type AdmissionOperation = 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';

export interface AdmissionRequest {
  uid: string;
  kind: GroupVersionKind;
  operation: AdmissionOperation;
  namespace?: string;
  name?: string;
  object?: KubernetesObject & { spec?: unknown };
  oldObject?: KubernetesObject & { spec?: unknown };
  dryRun?: boolean;
  subResource?: string;
}

export interface AdmissionStatus {
  code: number;
  reason?: string;
  message: string;
}

export interface AdmissionResponse {
  uid: string;
  allowed: boolean;
  status?: AdmissionStatus;
  warnings?: string[];
}

export interface AdmissionReview {
  apiVersion: 'admission.k8s.io/v1';
  kind: 'AdmissionReview';
  request?: AdmissionRequest;
  response?: AdmissionResponse;
}

const OPERATIONS: ReadonlySet<string> = new Set(['CREATE', 'UPDATE', 'DELETE', 'CONNECT']);

export type ParsedReview = { request: AdmissionRequest } | { error: string };

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Checks the envelope of a decoded AdmissionReview; the embedded object is checked where it is read. */
export function parseAdmissionReview(body: unknown): ParsedReview {
  if (!isObject(body)) return { error: 'body is not a JSON object' };
  if (body.apiVersion !== 'admission.k8s.io/v1' || body.kind !== 'AdmissionReview')
    return {
      error: 'expected apiVersion admission.k8s.io/v1, kind AdmissionReview (admissionReviewVersions: [v1])',
    };
  const request = body.request;
  if (!isObject(request)) return { error: 'AdmissionReview has no request' };
  if (typeof request.uid !== 'string' || request.uid === '') return { error: 'request.uid is missing' };
  const kind = request.kind;
  if (!isObject(kind) || typeof kind.kind !== 'string' || typeof kind.version !== 'string')
    return { error: 'request.kind is missing' };
  if (typeof request.operation !== 'string' || !OPERATIONS.has(request.operation))
    return { error: 'request.operation is not CREATE, UPDATE, DELETE or CONNECT' };
  for (const field of ['object', 'oldObject'] as const) {
    if (request[field] !== undefined && request[field] !== null && !isObject(request[field]))
      return { error: `request.${field} is not an object` };
  }
  return { request: request as unknown as AdmissionRequest };
}

/** The review sent back: same apiVersion and kind, the response carrying the request's uid. */
export function reviewResponse(response: AdmissionResponse): AdmissionReview {
  return { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response };
}
