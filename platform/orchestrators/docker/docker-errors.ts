/** Docker Engine API failures as HubErrors that say which call failed and what Docker answered. */
import { HubError } from '../../../core/errors.ts';

type ModemError = {
  statusCode?: number;
  message?: string;
  json?: { message?: string } | null;
  code?: string;
};

/**
 * `UPSTREAM_FAILED` naming the call (`what`) and Docker's own message. Retrying makes sense when
 * Docker could not be reached or failed inside (5xx), not when it refused the request (4xx).
 */
export function dockerError(what: string, e: unknown): HubError {
  if (e instanceof HubError) return e;
  const err = (e ?? {}) as ModemError;
  const answer = err.json?.message ?? err.message ?? String(e);
  const status = err.statusCode;
  const canRetry = status === undefined || status >= 500;
  const reason =
    status === undefined
      ? `cannot reach Docker (${err.code ?? answer})`
      : `Docker answered ${status}: ${answer}`;
  return new HubError('UPSTREAM_FAILED', `Docker API failed to ${what}: ${reason}`, { cause: e, canRetry });
}
