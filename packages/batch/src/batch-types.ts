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
  /** The uploaded file the batch was made from; null for an inline JSONL batch. */
  input_file_id: string | null;
  completion_window: string;
  /** Once the batch has ended: the file of its successful answers, and of its errors. */
  output_file_id: string | null;
  error_file_id: string | null;
  errors: null;
  failed_at: null;
  finalizing_at: null;
  expired_at: null;
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
  /** Times a worker went away while this item was in flight (see the runner's quarantine). */
  strikes?: number;
}

export interface ParentJobData {
  batchId: string;
}
