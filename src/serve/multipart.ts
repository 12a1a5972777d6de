/**
 * multipart/form-data, as `curl -F file=@digit.png` and a browser's FormData send it: the
 * one file in a body already read into memory (the server's body limit bounds it). A
 * small parser rather than @fastify/multipart: that streams many files to disk or to
 * handlers, with its own limits to configure, and we need the bytes of exactly one part
 * of a body that is already whole (RFC 7578; no nested parts, no transfer encodings).
 */

/** The file a multipart body carries. */
export interface FilePart {
  /** Its file name, as the client gave it (folders dropped, at most 100 characters), or null. */
  filename: string | null;
  /** The part's Content-Type, lower-case, without parameters ('' when not given). */
  type: string;
  bytes: Buffer;
}

/** A multipart body that is not what RFC 7578 says; the message completes "the multipart body …". */
export class MultipartError extends Error {}

/** Most parts a body may have (a form's other fields are skipped), and bytes of one part's headers. */
const MAX_PARTS = 20;
const MAX_HEADER_BYTES = 8 * 1024;

/** The boundary of a multipart/form-data Content-Type, or null when it has none. */
export function boundaryOf(contentType: string): string | null {
  const m = /;\s*boundary=(?:"([^"]{1,70})"|([^\s;"]{1,70}))/i.exec(contentType);
  return m ? (m[1] ?? m[2]) : null;
}

/** A header's parameter (`name="…"` or `name=…`), or null. */
function param(header: string, name: string): string | null {
  const m = new RegExp(`;\\s*${name}=(?:"((?:[^"\\\\]|\\\\.)*)"|([^;\\s]*))`, 'i').exec(header);
  if (!m) return null;
  return m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : m[2];
}

/** A client's file name made safe to echo in one line: no folders, no control characters, bounded. */
function cleanName(name: string): string {
  const base = name.split(/[\\/]/).pop() ?? '';
  // eslint-disable-next-line no-control-regex
  const clean = base.replace(/[\u0000-\u001f\u007f]/g, '?');
  return clean.length > 100 ? `${clean.slice(0, 100)}…` : clean;
}

/**
 * The file of a multipart/form-data body: the one part with a file name, or, when no part
 * has one, the only part (curl -F 'file=<digits.csv'). Other fields of a form are skipped.
 */
export function filePart(body: Buffer, boundary: string): FilePart {
  const delimiter = Buffer.from(`--${boundary}`);
  // The first delimiter may follow a preamble; every later one follows a CRLF.
  let at = body.indexOf(delimiter);
  if (at < 0) throw new MultipartError(`has no part: its boundary "${boundary}" does not occur in it`);
  const parts: FilePart[] = [];
  const files: FilePart[] = [];
  for (;;) {
    let pos = at + delimiter.length;
    if (body[pos] === 0x2d && body[pos + 1] === 0x2d) break; // "--": the close delimiter
    // Transport padding (spaces, tabs) may follow a delimiter, then CRLF.
    while (body[pos] === 0x20 || body[pos] === 0x09) pos++;
    if (body[pos] !== 0x0d || body[pos + 1] !== 0x0a) throw new MultipartError('is malformed: a boundary line is not followed by a line end');
    pos += 2;
    const headEnd = body.indexOf('\r\n\r\n', pos);
    // A part with no headers starts its content right away (a blank line).
    const noHeaders = body[pos] === 0x0d && body[pos + 1] === 0x0a;
    if (!noHeaders && (headEnd < 0 || headEnd - pos > MAX_HEADER_BYTES)) throw new MultipartError(`is malformed: a part's headers do not end within ${MAX_HEADER_BYTES / 1024} kB`);
    const head = noHeaders ? '' : body.subarray(pos, headEnd).toString('utf8');
    const start = noHeaders ? pos + 2 : headEnd + 4;
    const next = body.indexOf(Buffer.from(`\r\n--${boundary}`), start);
    if (next < 0) throw new MultipartError('is truncated: its last part has no closing boundary');
    if (parts.length === MAX_PARTS) throw new MultipartError(`has more than ${MAX_PARTS} parts: send one file`);
    const headers = new Map<string, string>();
    for (const line of head.split('\r\n')) {
      const colon = line.indexOf(':');
      if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
    }
    const disposition = headers.get('content-disposition') ?? '';
    const filename = param(disposition, 'filename');
    const part: FilePart = {
      filename: filename === null ? null : cleanName(filename),
      type: (headers.get('content-type') ?? '').split(';')[0].trim().toLowerCase(),
      bytes: body.subarray(start, next),
    };
    parts.push(part);
    if (filename !== null) files.push(part);
    at = next + 2;
  }
  if (files.length > 1) throw new MultipartError(`holds ${files.length} files: send one file per request`);
  if (files.length === 1) return files[0];
  if (parts.length === 1) return parts[0];
  throw new MultipartError(parts.length === 0 ? 'has no part: send one file (curl -F file=@digit.png)' : `has ${parts.length} fields and no file: send one file (curl -F file=@digit.png)`);
}
