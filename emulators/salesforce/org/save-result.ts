/**
 * Per-record outcomes of an sObject Collections call: one SaveResult per record, in request order,
 * failures carrying `statusCode` (not `errorCode`, which only request-level errors use).
 */

export interface SaveError {
  statusCode: string;
  message: string;
  fields: string[];
}

export interface SaveResult {
  id?: string;
  success: boolean;
  errors: SaveError[];
  created?: boolean;
}

export const saveError = (statusCode: string, message: string, fields: string[] = []): SaveError => ({ statusCode, message, fields });

/**
 * Runs `step` for each item. Without allOrNone each item is validated and written in turn; with it
 * every item is validated first and nothing is written if any fails (the good ones are then reported
 * as ALL_OR_NONE_OPERATION_ROLLED_BACK, still with HTTP 200).
 */
export function saveAll<T>(items: T[], allOrNone: boolean, step: (item: T, write: boolean) => { result: SaveResult }): SaveResult[] {
  if (!allOrNone) return items.map((item) => step(item, true).result);
  const dry = items.map((item) => step(item, false));
  if (dry.every((d) => d.result.success)) return items.map((item) => step(item, true).result);
  return dry.map(({ result }) =>
    result.success
      ? {
          ...result,
          success: false,
          errors: [
            saveError(
              'ALL_OR_NONE_OPERATION_ROLLED_BACK',
              'Record rolled back because not all records were valid and the request was using AllOrNone header',
            ),
          ],
        }
      : result,
  );
}
