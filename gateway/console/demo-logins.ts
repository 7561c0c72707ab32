/**
 * One-click log-ins for `hub demo` only: the demo hands the console its officer's and auditor's
 * tokens, and the log-in page shows a button per role that opens a session server-side (the token
 * never reaches the browser). `hub serve` never calls this, so no such button exists there.
 */
import type { HubRuntime } from '../runtime.ts';

export type DemoRole = 'officer' | 'auditor' | 'admin';
export const DEMO_ROLES: readonly DemoRole[] = ['officer', 'auditor', 'admin'];

const offered = new WeakMap<HubRuntime, Partial<Record<DemoRole, string>>>();

/** Offers demo log-ins on this hub (demo and tests only). */
export function offerDemoLogins(runtime: HubRuntime, tokens: Partial<Record<DemoRole, string>>): void {
  offered.set(runtime, { ...tokens });
}

/** The token of a demo role, when the demo offered one on this hub. */
export function demoToken(runtime: HubRuntime, role: DemoRole): string | undefined {
  return offered.get(runtime)?.[role];
}

/** The roles the log-in page may show buttons for (none outside the demo). */
export function demoRoles(runtime: HubRuntime): DemoRole[] {
  const tokens = offered.get(runtime);
  return tokens ? DEMO_ROLES.filter((r) => tokens[r]) : [];
}
