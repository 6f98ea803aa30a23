-- Tail objects (S3) count against the recording's size limit and the user's reserve: an upper bound of
-- the bytes a recording's tails may hold in the bucket, and its batches of tail targets not yet expired.
ALTER TABLE "recordings" ADD COLUMN IF NOT EXISTS "tail_bytes_bound" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "recordings" ADD COLUMN IF NOT EXISTS "tail_batches" jsonb DEFAULT '[]'::jsonb NOT NULL;
