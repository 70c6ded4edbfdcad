/** The closed list of error codes the hub uses. HTTP answers carry the code. */
export const ERROR_CODES = {
  BAD_REQUEST: 400,
  INVALID_POINT: 400,
  INVALID_QUERY: 400,
  INVALID_CONFIG: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  /** The target is locked (a running deployment) or changed under us. */
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  /** Well-formed but refused by a validator: `details` lists each field. */
  INVALID_INPUT: 422,
  RATE_LIMITED: 429,
  STORE_FAILED: 500,
  BUS_FAILED: 500,
  INTERNAL: 500,
  /** A system we call (an orchestrator, a store) answered with an error. */
  UPSTREAM_FAILED: 502,
  UNAVAILABLE: 503,
  TIMEOUT: 504,
} as const;

export type HubErrorCode = keyof typeof ERROR_CODES;

export type HubErrorOptions = {
  cause?: unknown;
  canRetry?: boolean;
  /** Where the problem is: a field path, a line number, a column. */
  where?: string;
  /** One entry per bad field, for errors that refuse several at once (`INVALID_INPUT`). */
  details?: { field: string; message: string }[];
};

/** The one error type of the hub: a closed code, a message that says what and where, a cause. */
export class HubError extends Error {
  readonly code: HubErrorCode;
  readonly canRetry: boolean;
  readonly where: string | undefined;
  readonly details: { field: string; message: string }[] | undefined;

  constructor(code: HubErrorCode, message: string, options: HubErrorOptions = {}) {
    super(message, { cause: options.cause });
    this.name = 'HubError';
    this.code = code;
    this.canRetry = options.canRetry ?? false;
    this.where = options.where;
    this.details = options.details;
  }

  get status(): number {
    return ERROR_CODES[this.code];
  }

  toJSON(): {
    code: HubErrorCode;
    message: string;
    where?: string;
    details?: { field: string; message: string }[];
  } {
    return {
      code: this.code,
      message: this.message,
      ...(this.where === undefined ? {} : { where: this.where }),
      ...(this.details === undefined ? {} : { details: this.details }),
    };
  }
}

export function isHubError(e: unknown): e is HubError {
  return e instanceof HubError;
}

/** Wraps anything thrown into a HubError, keeping the original as its cause. */
export function toHubError(e: unknown, code: HubErrorCode = 'INTERNAL'): HubError {
  if (e instanceof HubError) return e;
  const message = e instanceof Error ? e.message : String(e);
  return new HubError(code, message, { cause: e });
}
