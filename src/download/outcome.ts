/**
 * What a download's report comes to: whether every file failed for one reason (offline,
 * or the source is down: one line then, not one per file), and what failed in all.
 */
import type { DownloadReport, FileOutcome } from './download.js';

/** When every file was tried and failed for the same reason (no file was fetched): that reason, and where from. */
export function unreachable(report: DownloadReport): { reason: string; count: number; where: string } | null {
  const same = sameReason(report.files);
  if (!same) return null;
  return { ...same, where: report.source.startsWith('http') ? new URL(report.source).host : report.source };
}

function sameReason(files: readonly FileOutcome[]): { reason: string; count: number } | null {
  const failed = files.filter((f) => f.status === 'failed');
  if (failed.length < 2 || failed.length !== files.length) return null;
  const reasons = new Set(failed.map((f) => f.reason));
  const [reason] = reasons;
  return reasons.size === 1 && reason !== undefined && !/^blob id mismatch/.test(reason) ? { reason, count: failed.length } : null;
}

/** What failed, counted (null: nothing did): "2 of 6 files failed, 1 CSV file(s) could not be made". */
export function failureSummary(report: DownloadReport): string | null {
  if (report.failures.length === 0) return null;
  const failedFiles = report.files.filter((f) => f.status === 'failed').length;
  const failedCsvs = report.csvs.filter((c) => c.status === 'failed').length;
  return [
    failedFiles > 0 ? `${failedFiles} of ${report.files.length} files failed` : '',
    failedCsvs > 0 ? `${failedCsvs} CSV file(s) could not be made` : '',
  ].filter(Boolean).join(', ');
}
