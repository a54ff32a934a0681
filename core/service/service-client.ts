/** The CLI's side of the service's API, for `status`, `query` and `run` while a service holds the state. */
import type { ServiceFile } from './service-file.js';

export interface ServiceAnswer {
  status: number;
  body: unknown;
}

export async function callService(service: ServiceFile, method: 'GET' | 'POST', path: string, body?: unknown): Promise<ServiceAnswer> {
  const host = service.host.includes(':') ? `[${service.host}]` : service.host;
  let response: Response;
  try {
    response = await fetch(`http://${host}:${service.port}${path}`, {
      method,
      // Every POST carries JSON: the API refuses anything else (cross-site protection, http-api.ts).
      headers: method === 'POST' ? { 'content-type': 'application/json' } : {},
      body: method === 'POST' ? JSON.stringify(body ?? {}) : undefined,
    });
  } catch (error) {
    throw new Error(
      `the service (pid ${service.pid}) holds the state but does not answer at ${host}:${service.port}: ${(error as Error).message}. wait for it to start or stop it.`,
    );
  }
  return { status: response.status, body: await response.json() };
}

/** The body of a successful answer; an error answer becomes an error with the service's one line. */
export async function serviceResult<T>(service: ServiceFile, method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
  const answer = await callService(service, method, path, body);
  if (answer.status >= 400) throw new Error(String((answer.body as { error?: string })?.error ?? `the service answered ${answer.status}`));
  return answer.body as T;
}
