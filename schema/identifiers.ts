/**
 * Subject identifiers: citizen ID numbers (GB 11643, 公民身份号码) and unified social credit codes
 * (GB 32100, 统一社会信用代码). Validation for every request, generation for synthetic data.
 */

const ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const ID_CHECK = '10X98765432';

/** ISO 7064 MOD 11-2 check character of the first 17 digits. */
export function idNumberCheck(first17: string): string {
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += Number(first17[i]) * ID_WEIGHTS[i]!;
  return ID_CHECK[sum % 11]!;
}

function validDate(yyyymmdd: string): boolean {
  const y = Number(yyyymmdd.slice(0, 4));
  const m = Number(yyyymmdd.slice(4, 6));
  const d = Number(yyyymmdd.slice(6, 8));
  if (y < 1850 || m < 1 || m > 12 || d < 1) return false;
  const date = new Date(Date.UTC(y, m - 1, d));
  return date.getUTCMonth() === m - 1 && date.getUTCDate() === d;
}

/** Why an ID number is invalid, or undefined when it is valid. */
export function idNumberProblem(value: string): string | undefined {
  if (!/^[0-9]{17}[0-9X]$/.test(value)) return 'must be 17 digits followed by a digit or X';
  if (!validDate(value.slice(6, 14))) return 'has an impossible birth date';
  if (idNumberCheck(value.slice(0, 17)) !== value[17]) return 'has a wrong check character';
  return undefined;
}

const CODE_CHARS = '0123456789ABCDEFGHJKLMNPQRTUWXY';
const CODE_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];

export function creditCodeCheck(first17: string): string {
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += CODE_CHARS.indexOf(first17[i]!) * CODE_WEIGHTS[i]!;
  const c = 31 - (sum % 31);
  return CODE_CHARS[c === 31 ? 0 : c]!;
}

export function creditCodeProblem(value: string): string | undefined {
  if (!/^[0-9ABCDEFGHJKLMNPQRTUWXY]{18}$/.test(value)) return 'must be 18 characters from 0-9 and A-Y without I, O, S, V, Z';
  if (creditCodeCheck(value.slice(0, 17)) !== value[17]) return 'has a wrong check character';
  return undefined;
}

/** A small deterministic PRNG (mulberry32) so synthetic data is the same on every run. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A synthetic, valid citizen ID number. */
export function syntheticIdNumber(random: () => number, options: { region?: string; birth?: string; male?: boolean } = {}): string {
  const region = options.region ?? '440106';
  let birth = options.birth;
  if (!birth) {
    const start = Date.UTC(1950, 0, 1);
    const end = Date.UTC(2024, 11, 31);
    birth = new Date(start + Math.floor(random() * (end - start))).toISOString().slice(0, 10).replaceAll('-', '');
  }
  let seq = Math.floor(random() * 500) * 2; // even
  const male = options.male ?? random() < 0.5;
  if (male) seq += 1;
  const first17 = `${region}${birth}${String(seq).padStart(3, '0')}`;
  return first17 + idNumberCheck(first17);
}

/** A synthetic, valid unified social credit code (registration authority 9 = 工商, type 1 = 企业). */
export function syntheticCreditCode(random: () => number, region = '440106'): string {
  let body = `91${region}`;
  while (body.length < 17) body += CODE_CHARS[Math.floor(random() * CODE_CHARS.length)]!;
  return body + creditCodeCheck(body);
}
