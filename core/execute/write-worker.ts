/**
 * The piscina worker entry. Takes plain data, returns plain data: a batch of planned rows in, per-row
 * outcomes out. Each worker thread opens its own destination client once and reuses it.
 */
import type { DestinationClient, OutboundRow, RowOp, WriteTarget } from '../../connectors/destination.js';
import { getConnector } from '../../connectors/registry.js';
import type { RetryPolicy } from '../config/types.js';
import { deliverBatch, type DeliveryResult } from './deliver-batch.js';

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
  const rows: OutboundRow[] = task.rows.map((r) => ({
    key: r.key,
    fields: r.payload ? (JSON.parse(r.payload) as Record<string, unknown>) : {},
    destinationId: r.destinationId,
  }));
  return deliverBatch(client, task.op, rows, task.retry);
}
