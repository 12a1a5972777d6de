/** A request kconv refuses (or fails): the status and the message for {"error": …}. */
export class HttpError extends Error {
  /** `logged`: the line for the log was written already (a 5xx is logged once). */
  constructor(readonly status: number, message: string, readonly logged = false) {
    super(message);
  }
}
