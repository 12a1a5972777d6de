import { dataError, quoted } from './data-error.js';
import { PIXELS, type HeaderKind } from './types.js';

/** Role of a field that is not a pixel (pixels have their index 0..783 as role). */
export const LABEL = -1;
export const ID = -2;

/** Where each field of a row goes, found from the header by name. */
export interface ColumnLayout {
  /** roles[i] for field i: pixel index 0..783, LABEL or ID. */
  roles: number[];
  kind: HeaderKind;
}

export const EXPECTED_HEADER = 'label,pixel0,…,pixel783';

const PIXEL_NAME = /^pixel(0|[1-9][0-9]{0,3})$/;
const NUMBER = /^\s*[+-]?(\d+\.?\d*|\.\d+)\s*$/;

export function columnName(role: number): string {
  return role === LABEL ? 'label' : role === ID ? 'id' : `pixel${role}`;
}

/** Checks the header fields (line 1) and maps each one to its role. */
export function layoutFromHeader(fields: string[], file: string): ColumnLayout {
  const fault = (what: string, column?: string) => dataError(file, what, 1, column);
  if (fields.some((f) => NUMBER.test(f)) && fields.every((f) => f.trim() === '' || NUMBER.test(f))) {
    throw fault(`no header line: line 1 is data; expected a header such as ${EXPECTED_HEADER} (add one as the first line)`);
  }
  const roles: number[] = [];
  const fieldOf = new Map<number, number>();
  for (let i = 0; i < fields.length; i++) {
    const role = roleOf(fields[i], i, fault);
    const earlier = fieldOf.get(role);
    if (earlier !== undefined) {
      throw fault(`appears twice (fields ${earlier + 1} and ${i + 1}); each column must appear once`, columnName(role));
    }
    fieldOf.set(role, i);
    roles.push(role);
  }
  const missing: number[] = [];
  for (let p = 0; p < PIXELS; p++) if (!fieldOf.has(p)) missing.push(p);
  if (missing.length === PIXELS) {
    throw fault(`header has none of the 784 pixel columns pixel0…pixel783; expected a header such as ${EXPECTED_HEADER}`);
  }
  if (missing.length > 0) {
    const more = missing.length > 1 ? ` and ${missing.length - 1} more` : '';
    throw fault(
      `header lacks column pixel${missing[0]}${more}: ${missing.length} of the 784 pixel columns pixel0…pixel783 are missing`,
    );
  }
  const hasLabel = fieldOf.has(LABEL);
  const hasId = fieldOf.has(ID);
  const kind: HeaderKind = hasLabel && hasId ? 'id+label' : hasLabel ? 'label' : hasId ? 'id' : 'pixels';
  return { roles, kind };
}

function roleOf(field: string, index: number, fault: (what: string, column?: string) => Error): number {
  const name = field.trim().toLowerCase();
  if (name === 'label') return LABEL;
  if (name === 'id') return ID;
  const pixel = PIXEL_NAME.exec(name);
  if (pixel && Number(pixel[1]) < PIXELS) return Number(pixel[1]);
  const hint = pixel
    ? ' (pixel columns go from pixel0 to pixel783: 28×28 images)'
    : /[;\t|]/.test(field)
      ? ' (fields must be separated by commas)'
      : '';
  throw fault(`unknown column ${quoted(field)} (field ${index + 1})${hint}; expected label, id and pixel0…pixel783`);
}
