/**
 * Synthetic department data for the demo and tests. Deterministic for a seed; every citizen ID and
 * credit code carries a valid check character; no real person is ever used.
 */
import { seededRandom, syntheticCreditCode, syntheticIdNumber } from '../schema/index.ts';

type Row = Record<string, unknown>;

export interface DemoPerson {
  readonly idNumber: string;
  readonly name: string;
  readonly gender: '男' | '女';
  readonly birthDate: string;
  readonly role: 'head' | 'spouse' | 'child' | 'newborn';
  readonly household: string;
}

export interface DemoData {
  readonly persons: readonly DemoPerson[];
  /** Newborns with a birth certificate, and their mothers (出生一件事). */
  readonly births: ReadonlyArray<{ readonly child: string; readonly mother: string }>;
  /** Members of households applying for 最低生活保障. */
  readonly dibaoApplicants: readonly string[];
  readonly enterprises: readonly string[];
  /** REST department datasets: department → dataset → { keyField, records }. */
  readonly rest: Readonly<Record<'gongan' | 'minzheng', Record<string, { keyField: string; records: Row[] }>>>;
  /** MongoDB department collections: role → collection → documents. */
  readonly mongo: Readonly<Record<'renshe' | 'yibao', Record<string, Row[]>>>;
  /** Department files: file name → content. */
  readonly files: Readonly<Record<string, string>>;
  /**
   * Rows of the departments that can also run on a SQL front-end database (前置库): 自然资源's
   * real-estate summary, the same rows as `files['real_estate.csv']`.
   */
  readonly sql: { readonly ziranziyuan: { readonly realEstate: ReadonlyArray<{ idNumber: string; propertyCount: number; totalArea: number }> } };
}

const SURNAMES = ['陈', '李', '黄', '张', '梁', '林', '刘', '吴', '罗', '何', '郑', '欧阳', '周', '叶', '冯'];
const GIVEN = ['子涵', '嘉怡', '浩然', '俊杰', '思彤', '晓明', '家豪', '雅婷', '志强', '美玲', '梓轩', '诗琪', '文博', '一诺'];
const DISTRICTS: Array<[string, string]> = [['440106', '广州市天河区'], ['440104', '广州市越秀区'], ['440304', '深圳市福田区'], ['440604', '佛山市禅城区']];
const STREETS = ['体育西路', '中山五路', '深南大道', '季华路', '天河北路', '东风中路'];
const HOSPITALS = ['广东省妇幼保健院', '广州市妇女儿童医疗中心', '深圳市妇幼保健院', '佛山市妇幼保健院'];
const INDUSTRIES = ['软件和信息技术服务', '餐饮服务', '批发和零售', '物流仓储', '文化创意'];

const iso = (d: Date) => d.toISOString().slice(0, 10);
const csvCell = (v: unknown) => {
  const s = v === null || v === undefined ? '' : String(v);
  return /[",\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
};
const toCsv = (header: string[], rows: Row[]) => [header.join(','), ...rows.map((r) => header.map((h) => csvCell(r[h])).join(','))].join('\n') + '\n';

export function generateDemoData(options: { seed?: number; households?: number; enterprises?: number } = {}): DemoData {
  const random = seededRandom(options.seed ?? 20261122);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  const between = (a: number, b: number) => a + Math.floor(random() * (b - a + 1));
  const dateBetween = (from: string, to: string) => {
    const a = Date.parse(from);
    const b = Date.parse(to);
    return iso(new Date(a + Math.floor(random() * (b - a))));
  };
  const used = new Set<string>();
  const newId = (region: string, birth: string, male: boolean) => {
    for (;;) {
      const id = syntheticIdNumber(random, { region, birth: birth.replaceAll('-', ''), male });
      if (!used.has(id)) { used.add(id); return id; }
    }
  };

  const persons: DemoPerson[] = [];
  const births: Array<{ child: string; mother: string }> = [];
  const dibao: string[] = [];
  const hukou: Row[] = [];
  const vehicle: Row[] = [];
  const face: Row[] = [];
  const marriage: Row[] = [];
  const social: Row[] = [];
  const medical: Row[] = [];
  const birthCerts: Row[] = [];
  const realEstate: Row[] = [];

  const households = options.households ?? 60;
  for (let h = 0; h < households; h++) {
    const [region, district] = pick(DISTRICTS);
    const householdNo = `${region}${String(h + 1).padStart(6, '0')}`;
    const address = `广东省${district}${pick(STREETS)}${between(1, 999)}号${between(1, 30)}栋${between(101, 2808)}房`;
    const surname = pick(SURNAMES);
    const headBirth = dateBetween('1960-01-01', '1996-12-31');
    const members: DemoPerson[] = [];
    const add = (role: DemoPerson['role'], birthDate: string, male: boolean, family: string) => {
      const p: DemoPerson = { idNumber: newId(region, birthDate, male), name: family + pick(GIVEN), gender: male ? '男' : '女', birthDate, role, household: householdNo };
      members.push(p);
      return p;
    };
    const head = add('head', headBirth, true, surname);
    const married = random() < 0.8;
    const spouse = married ? add('spouse', dateBetween('1962-01-01', '1998-12-31'), false, pick(SURNAMES)) : undefined;
    for (let c = 0, n = between(0, 2); c < n; c++) add('child', dateBetween('2000-01-01', '2024-12-31'), random() < 0.5, surname);
    if (spouse && h % 4 === 0) {
      const child = add('newborn', dateBetween('2026-09-01', '2026-11-15'), random() < 0.5, surname);
      births.push({ child: child.idNumber, mother: spouse.idNumber });
      birthCerts.push({
        certificateNo: `${String.fromCharCode(79 + (h % 3))}${String(440000000 + h * 37).padStart(9, '0')}`,
        childIdNumber: child.idNumber,
        childName: child.name,
        gender: child.gender,
        birthDate: child.birthDate,
        birthPlace: pick(HOSPITALS),
        motherName: spouse.name,
        motherIdNumber: spouse.idNumber,
        fatherName: head.name,
      });
    }
    const poor = h % 3 === 1;
    if (poor) dibao.push(...members.map((m) => m.idNumber));

    for (const m of members) {
      persons.push(m);
      hukou.push({
        idNumber: m.idNumber, name: m.name, gender: m.gender, birthDate: m.birthDate, ethnicity: random() < 0.9 ? '汉族' : '壮族',
        address, householdNo, relation: { head: '户主', spouse: '配偶', child: m.gender === '男' ? '子' : '女', newborn: m.gender === '男' ? '子' : '女' }[m.role],
        registeredAt: m.role === 'newborn' ? m.birthDate : dateBetween('2000-01-01', '2024-12-31'),
      });
      medical.push({ idNumber: m.idNumber, status: '参保缴费', scheme: m.role === 'head' || m.role === 'spouse' ? '职工基本医疗保险' : '城乡居民基本医疗保险', insuredSince: m.role === 'newborn' ? m.birthDate : dateBetween('2010-01-01', '2025-12-31') });
      face.push({ idNumber: m.idNumber, photo: `SYNTHETIC-FACE-${m.idNumber.slice(-6)}`, takenAt: dateBetween('2020-01-01', '2026-06-30') });
      if (m.role === 'head' || m.role === 'spouse') {
        social.push({
          idNumber: m.idNumber, status: poor && random() < 0.5 ? '中断缴费' : '正常参保', insuredSince: dateBetween('2005-01-01', '2024-12-31'),
          monthlyBase: poor ? 2300 : between(4000, 30000), employer: `${pick(['广州', '深圳', '佛山'])}${pick(INDUSTRIES)}有限公司`,
        });
        vehicle.push({ ownerIdNumber: m.idNumber, vehicleCount: poor ? 0 : between(0, 2), plates: poor ? '' : `粤A${between(10000, 99999)}` });
        marriage.push({ idNumber: m.idNumber, maritalStatus: married ? '已婚' : '未婚', registeredAt: married ? dateBetween('1990-01-01', '2020-12-31') : null, spouseName: m.role === 'head' ? spouse?.name ?? null : head.name });
        realEstate.push({ idNumber: m.idNumber, propertyCount: poor ? 0 : between(0, 3), totalArea: poor ? 0 : between(40, 300) + between(0, 99) / 100 });
      }
    }
  }

  const enterprises: string[] = [];
  const licences: Row[] = [];
  for (let e = 0; e < (options.enterprises ?? 25); e++) {
    const [region, district] = pick(DISTRICTS);
    const code = syntheticCreditCode(random, region);
    enterprises.push(code);
    licences.push({
      creditCode: code, name: `${district.slice(0, 2)}${pick(['粤', '南', '珠江', '岭南', '湾区'])}${pick(INDUSTRIES).slice(0, 2)}${pick(['科技', '贸易', '服务'])}有限公司`,
      legalRepresentative: pick(SURNAMES) + pick(GIVEN), registeredCapital: between(10, 5000), status: random() < 0.9 ? '存续' : '注销',
      establishedAt: dateBetween('2005-01-01', '2026-10-31'), address: `广东省${district}${pick(STREETS)}${between(1, 999)}号`, scope: pick(INDUSTRIES),
    });
  }

  return {
    persons,
    births,
    dibaoApplicants: dibao,
    enterprises,
    rest: {
      gongan: {
        hukou: { keyField: 'idNumber', records: hukou },
        vehicle: { keyField: 'ownerIdNumber', records: vehicle },
        face: { keyField: 'idNumber', records: face },
        criminal: { keyField: 'idNumber', records: [] },
      },
      minzheng: { marriage: { keyField: 'idNumber', records: marriage } },
    },
    mongo: { renshe: { social_insurance: social }, yibao: { medical_insurance: medical } },
    files: {
      'birth_certificates.jsonl': birthCerts.map((r) => JSON.stringify(r)).join('\n') + '\n',
      'real_estate.csv': toCsv(['idNumber', 'propertyCount', 'totalArea'], realEstate),
      'business_licences.csv': toCsv(['creditCode', 'name', 'legalRepresentative', 'registeredCapital', 'status', 'establishedAt', 'address', 'scope'], licences),
    },
    sql: { ziranziyuan: { realEstate: realEstate as Array<{ idNumber: string; propertyCount: number; totalArea: number }> } },
  };
}
