/**
 * The piscina worker entry. Takes plain data, returns plain data: a batch of planned rows in, per-row
 * outcomes out. Each worker thread opens its own destination client once and reuses it.
 */
import type { DestinationClient, Failure, OutboundRow, RowOp, WriteTarget } from '../../connectors/destination.js';
import { NonFiniteNumberError, parseExactJson } from '../../shared/exact-json.js';
import { getConnector } from '../../connectors/registry.js';
import type { RetryPolicy } from '../config/types.js';
import { deliverBatch, type DeliveredRow, type DeliveryResult } from './deliver-batch.js';

export interface WriteTask {
  target: WriteTarget;
  op: RowOp;
  /** Payloads stay JSON text until here, so parsing happens off the main thread. */
  rows: Array<{ key: string; payload: string | null; destinationId: string | null }>;
  retry: RetryPolicy;
}

const clients = new Map<string, Promise<DestinationClient>>();

function clientFor(target: WriteTarget): Promise<DestinationClient> {
  const id = JSON.stringify([target.destination, target.sync]);
  let client = clients.get(id);
  if (!client) {
    const connector = getConnector(target.destination.type);
    if (!connector) throw new Error(`unknown destination type ${target.destination.type}`);
    client = connector.connect(target);
    client.catch(() => clients.delete(id));
    clients.set(id, client);
  }
  return client;
}

export default async function writeBatch(task: WriteTask): Promise<DeliveryResult> {
  let client: DestinationClient;
  try {
    client = await clientFor(task.target);
  } catch (error) {
    const failure = (error as { failure?: DeliveryResult['fatal'] }).failure ?? {
      errorClass: 'fatal' as const,
      code: 'CONNECT_FAILED',
      message: (error as Error).message,
    };
    return { rows: task.rows.map((r) => ({ key: r.key, status: 'aborted', failure, sends: 0 })), apiCalls: 0, fatal: failure };
  }
  const rows: OutboundRow[] = [];
  const unsendable: DeliveredRow[] = [];
  const omitted = task.target.sync.omitFields ?? [];
  for (const r of task.rows) {
    try {
      const fields = r.payload ? (parseExactJson(r.payload) as Record<string, unknown>) : {};
      // Fields self-healing found deleted: left out, the mapping and the row hash unchanged.
      for (const field of omitted) delete fields[field];
      rows.push({ key: r.key, fields, destinationId: r.destinationId });
    } catch (error) {
      unsendable.push({ key: r.key, status: 'failed', failure: invalidValue(error), sends: 0 });
    }
  }
  if (rows.length === 0) return { rows: unsendable, apiCalls: 0, fatal: null };
  const delivered = await deliverBatch(client, task.op, rows, task.retry);
  return { ...delivered, rows: [...delivered.rows, ...unsendable] };
}

/** A row whose values no destination can take fails alone, never sent; the next run retries its latest values. */
function invalidValue(error: unknown): Failure {
  if (error instanceof NonFiniteNumberError) {
    return {
      errorClass: 'rejected',
      code: 'INVALID_NUMBER',
      message: `non-finite number: ${error.message}`,
      remediation: 'JSON has no NaN or Infinity: filter the row out, or map the value to null (nullif, case) in the model.',
      blocks: true,
    };
  }
  return { errorClass: 'rejected', code: 'INVALID_PAYLOAD', message: `unreadable payload: ${(error as Error).message}` };
}
