/** The terms of a grant as an officer (approval) or the platform operator (a directed grant) sets them. The hub checks them. */
export type Access = 'clear' | 'masked' | 'verify';

/** What the form needs of an application: the items applied for, their titles, and the applied period and volumes. */
export interface TermsSource {
  items: Array<{ name: string; access: Access; consent: boolean }>;
  resource: { items: Array<{ name: string; title: string }> } | null;
  validFrom: string; validUntil: string; expectedDailyVolume: number; maxBatch: number;
}

export interface TermsState {
  items: Array<{ name: string; title: string; include: boolean; access: Access; consent: boolean }>;
  validFrom: string; validUntil: string; perDay: number; maxBatch: number; verifyPerDay: number;
}

/** The form's starting point: everything as applied (verifications per day: the hub's default, 5). */
export function termsFor(app: TermsSource): TermsState {
  const title = (name: string) => app.resource?.items.find((i) => i.name === name)?.title ?? name;
  return {
    items: app.items.map((i) => ({ name: i.name, title: title(i.name), include: true, access: i.access, consent: i.consent })),
    validFrom: app.validFrom, validUntil: app.validUntil, perDay: app.expectedDailyVolume, maxBatch: app.maxBatch, verifyPerDay: 5,
  };
}

/** The form as the API's ApprovalTerms. */
export function approvalTerms(s: TermsState) {
  const items = s.items.filter((i) => i.include);
  return {
    items: items.map((i) => ({ name: i.name, access: i.access })),
    consentItems: items.filter((i) => i.consent).map((i) => i.name),
    validFrom: s.validFrom, validUntil: s.validUntil, perDay: s.perDay, maxBatch: s.maxBatch, verifyPerDay: s.verifyPerDay,
  };
}
