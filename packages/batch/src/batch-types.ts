/** OpenAI Batch statuses (those VMM uses). */
export type BatchStatus = 'validating' | 'in_progress' | 'completed' | 'failed' | 'cancelling' | 'cancelled';

/** A batch as `GET /v1/batches/:id` shows it (OpenAI's Batch object, times in Unix seconds). */
export interface BatchView {
  id: string;
  object: 'batch';
  endpoint: string;
  status: BatchStatus;
  created_at: number;
  in_progress_at: number | null;
  completed_at: number | null;
  cancelling_at: number | null;
  cancelled_at: number | null;
  expires_at: number;
  request_counts: { total: number; completed: number; failed: number };
  metadata: Record<string, string> | null;
}

/** What an item job returns: the HTTP answer the item would have had. */
export interface ItemResult {
  status_code: number;
  body: unknown;
  /** Set when the batch was cancelled before the item ran. */
  skipped?: boolean;
}

/** What an item job carries. */
export interface ItemJobData {
  batchId: string;
  index: number;
  customId: string;
  url: string;
  body: Record<string, unknown>;
  requestId: string;
}

export interface ParentJobData {
  batchId: string;
}
