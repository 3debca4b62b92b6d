/** The record of a decision on a held run, kept in its report. */
export interface Approval {
  decision: 'approved' | 'rejected';
  by: string;
  at: string;
  reason?: string;
}
