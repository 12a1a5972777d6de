/**
 * Typed errors. The library throws these and never prints or exits; the CLI turns
 * each into one line on stderr and an exit code. `message` is that line, complete:
 * what is wrong, where (file:line where it applies) and what to do.
 */
export class KconvError extends Error {
  /** Exit code the CLI uses for this kind of error. */
  readonly exitCode: number = 1;
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** A data file (CSV, idx) that cannot be read as images. */
export class DataError extends KconvError {
  constructor(
    message: string,
    readonly file?: string,
    readonly line?: number,
    readonly column?: string,
  ) {
    super(message);
  }
}

/** An architecture spec or a layer stack that cannot be built (a usage mistake: exit 2). */
export class SpecError extends KconvError {
  override readonly exitCode = 2;
}

/** A weights file that is not a valid kconv model. */
export class ModelFileError extends KconvError {}

/** Options that do not make sense together or out of range. */
export class UsageError extends KconvError {
  override readonly exitCode = 2;
}

/** Training could not go on (for example the loss became NaN). */
export class TrainingError extends KconvError {}

/** A file kconv was asked to write cannot be written (a full disk, a read-only folder, no permission). */
export class OutputError extends KconvError {
  constructor(
    message: string,
    /** The file-system error code behind it, e.g. ENOSPC. */
    readonly code?: string,
  ) {
    super(message);
  }
}
