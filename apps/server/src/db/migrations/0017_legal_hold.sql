-- Legal hold: a recording is held while held_at is not null; no delete (owner, admin, bulk, retention) removes it.
-- The partial index serves the admin list's held=true filter.
ALTER TABLE "recordings" ADD COLUMN "hold_reason" text;--> statement-breakpoint
ALTER TABLE "recordings" ADD COLUMN "held_at" timestamp (3) with time zone;--> statement-breakpoint
ALTER TABLE "recordings" ADD COLUMN "held_by" text;--> statement-breakpoint
CREATE INDEX "recordings_held_idx" ON "recordings" USING btree ("held_at") WHERE "recordings"."held_at" is not null;