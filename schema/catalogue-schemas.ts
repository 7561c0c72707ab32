/**
 * JSON Schemas of the catalogue files. Every file a data officer or the platform operator writes is
 * checked against one of these before anything is loaded into MongoDB.
 */
import type { JsonSchema } from './ajv.ts';

const code = { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$' } as const;
const text = { type: 'string', minLength: 1, maxLength: 2000 } as const;
const graphqlName = { type: 'string', pattern: '^[a-z][A-Za-z0-9]{0,63}$' } as const;
const date = { type: 'string', format: 'date' } as const;

export const departmentSchema: JsonSchema = {
  $id: 'hub:department',
  type: 'object',
  required: ['code', 'name'],
  additionalProperties: false,
  properties: {
    code,
    name: text,
    region: { type: 'string', pattern: '^[0-9]{6}$' },
  },
};

export const systemSchema: JsonSchema = {
  $id: 'hub:system',
  type: 'object',
  required: ['code', 'name', 'department'],
  additionalProperties: false,
  properties: {
    code,
    name: text,
    department: code,
    peerHub: { type: 'boolean', description: "another region's hub (跨域通办): may name the department it asks for (onBehalfOf)" },
    certificates: {
      type: 'array',
      maxItems: 20,
      uniqueItems: true,
      description: 'SHA-256 fingerprints of the client certificates that identify this system (mutual TLS); two during a rotation',
      items: { type: 'string', pattern: '^(?:[0-9A-Fa-f]{2}:?){31}[0-9A-Fa-f]{2}$' },
    },
  },
};

export const purposeSchema: JsonSchema = {
  $id: 'hub:purpose',
  type: 'object',
  required: ['code', 'name', 'legalBasis', 'departments'],
  additionalProperties: false,
  properties: {
    code,
    name: text,
    legalBasis: text,
    departments: { type: 'array', items: code, minItems: 1, uniqueItems: true },
    resources: { type: 'array', items: code, minItems: 1, uniqueItems: true },
    validUntil: date,
    confidentialDays: { type: 'integer', minimum: 1, maximum: 36500 },
    // Related service items share a theme (e.g. 出生一件事); a purpose without one is its own.
    theme: { type: 'string', minLength: 1, maxLength: 100 },
  },
};

export const itemSchema: JsonSchema = {
  type: 'object',
  required: ['name', 'title', 'type', 'classification'],
  additionalProperties: false,
  properties: {
    name: graphqlName,
    title: text,
    type: { enum: ['string', 'integer', 'number', 'boolean', 'date'] },
    classification: { enum: ['public', 'personal', 'sensitive', 'biometric', 'trade-secret'] },
    mask: { enum: ['none', 'name', 'idNumber', 'mobile', 'address', 'creditCode', 'full'], default: 'none' },
    description: text,
  },
};

export const resourceSchema: JsonSchema = {
  $id: 'hub:resource',
  type: 'object',
  required: ['code', 'name', 'field', 'provider', 'summary', 'subject', 'items', 'sharing', 'binding'],
  additionalProperties: false,
  properties: {
    code,
    name: text,
    field: graphqlName,
    provider: code,
    summary: text,
    subject: { enum: ['person', 'enterprise'] },
    level: { enum: ['core', 'important', 'general'], default: 'general' },
    cost: { type: 'integer', minimum: 1, maximum: 1000, description: 'weight of one read in the query cost (@cost), e.g. for a slow or metered department service; default 1' },
    items: { type: 'array', items: itemSchema, minItems: 1, maxItems: 500 },
    sharing: { enum: ['unconditional', 'conditional', 'none'] },
    conditions: text,
    legalBasis: text,
    updateFrequency: { enum: ['realtime', 'hourly', 'daily', 'weekly', 'monthly', 'quarterly', 'yearly', 'irregular'] },
    publishedAt: date,
    related: { type: 'array', items: code, uniqueItems: true },
    binding: {
      type: 'object',
      required: ['connector', 'dataset', 'keyField'],
      additionalProperties: false,
      properties: {
        connector: code,
        dataset: { type: 'string', minLength: 1, maxLength: 200 },
        keyField: { type: 'string', minLength: 1, maxLength: 100 },
      },
    },
  },
  // 不予共享 must cite the law that forbids sharing.
  if: { properties: { sharing: { const: 'none' } } },
  then: { required: ['legalBasis'] },
};

export const grantSchema: JsonSchema = {
  $id: 'hub:grant',
  type: 'object',
  required: ['id', 'resource', 'consumer', 'purposes', 'items', 'validFrom', 'validUntil'],
  additionalProperties: false,
  properties: {
    id: code,
    version: { type: 'integer', minimum: 1, default: 1 },
    resource: code,
    consumer: code,
    systems: { type: 'array', items: code, uniqueItems: true },
    purposes: { type: 'array', items: code, minItems: 1, uniqueItems: true },
    items: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        required: ['name', 'access'],
        additionalProperties: false,
        properties: { name: graphqlName, access: { enum: ['clear', 'masked', 'verify'] }, consent: { type: 'boolean' } },
      },
    },
    validFrom: date,
    validUntil: date,
    quota: {
      type: 'object',
      additionalProperties: false,
      properties: {
        perDay: { type: 'integer', minimum: 1 },
        maxBatch: { type: 'integer', minimum: 1 },
        verifyPerDay: { type: 'integer', minimum: 1, maximum: 1000 },
      },
    },
    status: { enum: ['pending', 'approved', 'rejected', 'suspended', 'revoked', 'expired'], default: 'approved' },
    approvedBy: text,
    reason: text,
  },
};

export const connectorsFileSchema: JsonSchema = {
  $id: 'hub:connectors',
  type: 'object',
  propertyNames: code,
  additionalProperties: {
    type: 'object',
    required: ['kind'],
    properties: { kind: { type: 'string' } },
  },
};

export const listOf = (id: string, item: JsonSchema): JsonSchema => ({
  $id: `${id}-list`,
  type: 'array',
  items: { $ref: String(item['$id']) },
});
