/** What the first bytes of an input say it is: gzip (1f 8b) or idx (00 00, a data type, 1 to 4 dimensions), or a picture. */
const IDX_TYPES = new Set([0x08, 0x09, 0x0b, 0x0c, 0x0d, 0x0e]);

export function isGzip(head: Uint8Array): boolean {
  return head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b;
}

/** Whether 4 bytes are an idx magic number: two zero bytes, a known data type, 1 to 4 dimensions. */
export function isIdxMagic(b: Uint8Array): boolean {
  return b.length >= 4 && b[0] === 0 && b[1] === 0 && IDX_TYPES.has(b[2]) && b[3] >= 1 && b[3] <= 4;
}

/** Picture formats by their first bytes: PNG and JPEG are decoded (src/image/); the others are named, so the message can say "convert it". */
const PICTURES: [RegExp, string][] = [
  [/^\x89PNG\r\n\x1a\n/, 'PNG'], [/^\xff\xd8\xff/, 'JPEG'],
  [/^GIF8[79]a/, 'GIF'], [/^RIFF....WEBP/s, 'WebP'], [/^BM....\0\0\0\0/s, 'BMP'], [/^(II\*\0|MM\0\*)/, 'TIFF'],
  [/^....ftyp(heic|heix|hevc|hevx|mif1|msf1)/s, 'HEIC'], [/^....ftypavi[fs]/s, 'AVIF'],
  [/^(\xff\x0a|\0\0\0\x0cJXL \r\n\x87\n)/, 'JPEG XL'], [/^\0\0\0\x0cjP  \r\n\x87\n/, 'JPEG 2000'],
  [/^\0\0\x01\0[\x01-\xff]\0/, 'ICO'], [/^8BPS/, 'Photoshop (PSD)'], [/^%PDF-/, 'PDF'],
];

/** The picture format the bytes start with ('PNG', 'JPEG', 'WebP', …), or null. */
export function pictureFormat(head: Uint8Array): string | null {
  const start = Buffer.from(head.buffer, head.byteOffset, Math.min(head.length, 16)).toString('latin1');
  return PICTURES.find(([re]) => re.test(start))?.[1] ?? null;
}

/** Whether kconv decodes this picture format itself. */
export const isDecodedPicture = (format: string | null): boolean => format === 'PNG' || format === 'JPEG';

/**
 * What to say of a picture kconv does not decode, after its name: what it is, what kconv
 * reads, and a command that converts it (ImageMagick's; from standard input, in a pipe).
 */
export function unreadablePicture(name: string, format: string, stdin = false): string {
  const a = /^[AEIOU]/.test(format) ? 'an' : 'a';
  const ext = format.split(' ')[0].toLowerCase();
  const file = /\.\w+$/.test(name) ? name : `picture.${ext}`; // the API names a body "the image"
  const png = file.replace(/\.\w+$/, file.toLowerCase().endsWith('.png') ? '-converted.png' : '.png');
  const example = stdin ? 'convert - png:- | kconv …' : `convert ${shellWord(file)} ${shellWord(png)}`;
  return `${a} ${format} ${format === 'PDF' ? 'document' : 'image'}: kconv reads PNG and JPEG: convert it to PNG or JPEG (e.g. with ImageMagick: ${example})`;
}

/** A word for a POSIX shell: as is when safe, else in single quotes. */
export function shellWord(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}
