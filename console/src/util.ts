import { ElMessage, ElMessageBox } from 'element-plus';
import { ApiError } from './api.ts';
import { i18n } from './i18n.ts';

const t = (key: string, values: Record<string, unknown> = {}) => i18n.global.t(key, values);

/** Shows the hub's refusal as it words it, with its code. */
export function showError(error: unknown): void {
  const message = error instanceof ApiError ? `${error.message} (${error.code})` : String(error);
  ElMessage({ type: 'error', message, showClose: true, duration: 8000 });
}

export function showDone(message = t('common.done')): void {
  ElMessage({ type: 'success', message });
}

/** Asks for a mandatory reason; null when cancelled. */
export async function askReason(title: string, hint = ''): Promise<string | null> {
  try {
    const { value } = await ElMessageBox.prompt(hint || t('common.reason'), title, {
      confirmButtonText: t('common.confirm'),
      cancelButtonText: t('common.cancel'),
      inputPlaceholder: t('common.reason'),
      inputValidator: (v: string) => (v && v.trim().length > 0) || t('common.reasonRequired'),
    });
    return (value as string).trim();
  } catch {
    return null;
  }
}

/** A personal identifier as it may be shown back: first 4 and last 4 characters. */
export function maskId(id: string): string {
  return id.length <= 8 ? '*'.repeat(id.length) : `${id.slice(0, 4)}${'*'.repeat(id.length - 8)}${id.slice(-4)}`;
}

export const when = (iso: string | null | undefined) => (iso ? iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '');
