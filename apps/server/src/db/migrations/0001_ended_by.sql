ALTER TABLE "recordings" ADD COLUMN "ended_by" text;--> statement-breakpoint
ALTER TABLE "recordings" ADD COLUMN "end_requested_at" timestamp (3) with time zone;