// One error type for everything ckpt reports to users: a stable code, the
// resource concerned, a hint, and the underlying error kept as `cause`.
export const EXIT_CODES = {
  USAGE: 2,
  NO_SUCH_PROCESS: 3,
  PERMISSION: 4,
  KIND_UNSUPPORTED: 5,
  TARGET_GONE: 6,
  IMAGE_CORRUPT: 7,
  IMAGE_VERSION: 8,
  IMAGE_NOT_FOUND: 9,
  FILE_CHANGED: 10,
  PID_TAKEN: 11,
  IO: 12,
  NOT_EXACT: 13,
  INTERNAL: 70,
} as const;
export type ErrorCode = keyof typeof EXIT_CODES;

export interface ErrorDetails {
  pid?: number;
  fd?: number;
  path?: string;
  kind?: string;
  hint?: string;
  cause?: unknown;
  /** Further problems of the same kind (e.g. every unsupported resource). */
  problems?: string[];
}

export class CkptError extends Error {
  readonly code: ErrorCode;
  readonly details: ErrorDetails;
  constructor(code: ErrorCode, message: string, details: ErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'CkptError';
    this.code = code;
    this.details = details;
  }
  get exitCode(): number {
    return EXIT_CODES[this.code];
  }
  toJSON() {
    const { cause, ...rest } = this.details;
    return { code: this.code, message: this.message, ...rest, cause: cause instanceof Error ? cause.message : cause };
  }
}
