/**
 * The GraphQL schema (SDL) generated from the catalogue: one record type per resource, and
 * Person / Enterprise combining the resources of that subject type, one field per resource.
 */
import type { Catalogue, Item, ItemType, Resource } from './types.ts';

const SCALARS: Record<ItemType, string> = { string: 'String', integer: 'Int', number: 'Float', boolean: 'Boolean', date: 'String' };

/** GraphQL type name of a resource's record, from its field name: `hukou` → `HukouRecord`. */
export function typeNameOf(r: Pick<Resource, 'field'>): string {
  return `${r.field[0]!.toUpperCase()}${r.field.slice(1)}Record`;
}

const describe = (text: string) => `"""${text.replaceAll('\\', '\\\\').replaceAll('"""', '\\"""')}"""`;

function itemLine(item: Item): string {
  const mask = item.mask === 'none' ? '' : `; masked as ${item.mask}`;
  return `  ${describe(`${item.title} (${item.classification}${mask})`)}\n  ${item.name}: ${SCALARS[item.type]}`;
}

function recordType(r: Resource): string {
  return `${describe(`${r.name} (${r.code}), provided by ${r.provider}. ${r.summary}`)}
type ${typeNameOf(r)} {
${r.items.map(itemLine).join('\n')}
}`;
}

function subjectFields(resources: readonly Resource[]): string {
  return resources
    .map((r) => `  ${describe(`${r.name} (${r.code}, ${r.sharing}). null with an error when refused or unavailable.`)}\n  ${r.field}: ${typeNameOf(r)}${r.cost && r.cost !== 1 ? ` @cost(weight: "${r.cost}")` : ''}`)
    .join('\n');
}

export function buildTypeDefs(catalogue: Pick<Catalogue, 'resources'>): string {
  const persons = catalogue.resources.filter((r) => r.subject === 'person');
  const enterprises = catalogue.resources.filter((r) => r.subject === 'enterprise');
  return `
"""
Query cost (IBM GraphQL Cost Directives): the weight of a field, when it is not 1. Estimated before
execution against limits.maxCost (gateway/limits/cost.ts).
"""
directive @cost(weight: String!) on FIELD_DEFINITION
"""
Query cost: the size of a list field, from the value of one of its slicing arguments (a number, or
the length of a list), else assumedSize.
"""
directive @listSize(assumedSize: Int, slicingArguments: [String!], sizedFields: [String!], requireOneSlicingArgument: Boolean = true) on FIELD_DEFINITION

"""An object of claimed item values, e.g. { name: "张三" }: item name → string, number or boolean."""
scalar Claims

type Query {
  """
  Open a purpose-bound access. Every consumer request states the service item (purpose), the case
  number and the operator; without them no data is served. Everything read under it is audited.
  """
  access(purpose: String, caseId: String, operator: String, """The consent reference the citizen portal returned, for consent-bound items (biometric data, or items the grant marks)."""
  consentRef: String, """Only for another region's hub (a system registered with peerHub): the department and system of its region the access is for (跨域通办). Recorded with the access."""
  onBehalfOf: OnBehalfOf): Access
  """The resource catalogue (政务数据资源目录): what may be asked for, from whom, on what terms."""
  catalogue(subject: SubjectType): [CatalogueResource!]!
  """Registered purposes (政务服务事项) with their legal basis."""
  purposes: [PurposeInfo!]!
  """The authenticated caller."""
  me: Caller!
}

type Caller {
  kind: String!
  id: String!
  department: String!
}

type Access {
  purpose: PurposeInfo!
  caseId: String!
  operator: String!
  """One person by citizen ID number (公民身份号码, GB 11643)."""
  person(idNumber: String!): Person
  """Many persons under one purpose, e.g. a 最低生活保障 review. At most the configured batch size."""
  persons(idNumbers: [String!]!): [Person] @listSize(slicingArguments: ["idNumbers"])
  """One enterprise by unified social credit code (统一社会信用代码, GB 32100)."""
  enterprise(creditCode: String!): Enterprise
  """Verification (核验): match / no match against the record, never the record itself."""
  verify(resource: String!, key: String!, claims: Claims!): Verification
}

type Person {
  idNumber: String!
${subjectFields(persons)}
}

type Enterprise {
  creditCode: String!
${subjectFields(enterprises)}
}

type Verification {
  """True when a record exists and every claimed item equals it."""
  match: Boolean!
  """Claimed items that do not match (all of them when there is no record)."""
  mismatched: [String!]!
}

enum SubjectType { person enterprise }

"""The consuming department and system at another region's hub."""
input OnBehalfOf {
  department: String!
  system: String!
}

type CatalogueItem {
  name: String!
  title: String!
  type: String!
  classification: String!
  mask: String!
}

type Department {
  code: String!
  name: String!
}

type CatalogueResource {
  code: String!
  name: String!
  field: String!
  provider: Department!
  summary: String!
  subject: SubjectType!
  level: String!
  sharing: String!
  conditions: String
  legalBasis: String
  updateFrequency: String
  publishedAt: String
  items: [CatalogueItem!]!
}

type PurposeInfo {
  code: String!
  name: String!
  legalBasis: String!
  departments: [String!]!
  resources: [String!]
}

${[...persons, ...enterprises].map(recordType).join('\n\n')}
`;
}
