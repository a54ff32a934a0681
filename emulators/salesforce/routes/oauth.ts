/**
 * OAuth 2.0: the refresh-token grant at `POST /services/oauth2/token` (the one jsforce sends when a
 * call answers 401 and it holds a refresh token), and the 401 every data call gets without a valid
 * bearer token. No password or JWT grant: the connector never sends one.
 */
import { errorBody } from '../errors.js';
import type { Reply } from './route.js';

export interface OAuthClient {
  /** Without it every refresh is refused. */
  refreshToken?: string;
  /** When set, a grant must carry exactly these. */
  clientId?: string;
  clientSecret?: string;
}

/** jsforce refreshes only on this message: "This session is not valid for use with the REST API" would stop it. */
export const sessionInvalid: Reply = { status: 401, body: errorBody('INVALID_SESSION_ID', 'Session expired or invalid') };

/** The fixed org and user Ids the identity URL names; jsforce splits them off its last two segments. */
const IDENTITY = '/id/00D000000000001AAA/005000000000001AAA';

/**
 * Answers a token request; `mint` is called only for a grant that is accepted and returns the new
 * access token (the emulator makes it valid).
 */
export function answerTokenRequest(
  method: string,
  form: URLSearchParams,
  client: OAuthClient,
  instanceUrl: string,
  mint: () => string,
): Reply {
  const ok =
    method === 'POST' &&
    form.get('grant_type') === 'refresh_token' &&
    client.refreshToken !== undefined &&
    form.get('refresh_token') === client.refreshToken &&
    (client.clientId === undefined || form.get('client_id') === client.clientId) &&
    (client.clientSecret === undefined || form.get('client_secret') === client.clientSecret);
  if (!ok) return { status: 400, body: { error: 'invalid_grant', error_description: 'expired access/refresh token' } };
  return {
    status: 200,
    body: {
      access_token: mint(),
      instance_url: instanceUrl,
      id: `${instanceUrl}${IDENTITY}`,
      token_type: 'Bearer',
      issued_at: String(Date.now()),
      signature: 'emulator',
      scope: 'api refresh_token',
    },
  };
}
