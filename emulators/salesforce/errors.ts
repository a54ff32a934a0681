/**
 * Request-level failures: Salesforce answers them with a JSON array of one `{message, errorCode}`,
 * which jsforce turns into an error named after the errorCode.
 */

export const errorBody = (errorCode: string, message: string) => [{ message, errorCode }];

export const NOT_FOUND_MESSAGE = 'The requested resource does not exist';

/** A failure of the whole request, answered as `[{message, errorCode}]` with this HTTP status. */
export class RequestError extends Error {
  constructor(
    readonly status: number,
    readonly errorCode: string,
    message: string,
  ) {
    super(message);
  }
}
