/** One POST of a JSON body, bounded in time; anything but a 2xx answer is an error worth a retry. */
import { oneLine } from '../../../shared/errors.js';

/** A receiver that has not answered in 10 s is treated as down; the delivery is retried. */
const POST_TIMEOUT_MS = 10_000;

export async function postJson(url: string, body: string, headers: Record<string, string> = {}): Promise<void> {
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'hightouch-like', ...headers },
      body,
      signal: AbortSignal.timeout(POST_TIMEOUT_MS),
      redirect: 'error',
    });
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    throw new Error(`POST failed: ${oneLine(cause?.code ?? cause?.message ?? (error as Error).message)}`);
  }
  // The body is drained and ignored: a receiver's text is hostile and no business of the log.
  await response.arrayBuffer().catch(() => {});
  if (response.status < 200 || response.status > 299) throw new Error(`the receiver answered HTTP ${response.status}`);
}
