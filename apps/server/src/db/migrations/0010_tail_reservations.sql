-- Tail objects (S3) count against the recording's size limit and the user's reserve: an upper bound of
-- the bytes a recording's tails may hold in the bucket, and until when its last tail targets may write.
ALTER TABLE "recordings" ADD COLUMN "tail_bytes_bound" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "recordings" ADD COLUMN "tail_targets_bytes" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "recordings" ADD COLUMN "tail_targets_until" timestamp (3) with time zone;
