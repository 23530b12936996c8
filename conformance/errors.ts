// Errors of the kit itself (never of the target): both end a run with exit 2.

/** A bad flag or an unusable input file. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** The harness broke: the embedded server would not start, a reporter crashed, the registry is inconsistent. */
export class HarnessError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HarnessError';
  }
}
