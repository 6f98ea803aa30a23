-- The per-user reserve is summed on every part request, tail batch and thumbnail (sortie_request_part,
-- the tails and thumbnails routes): over a user's open recordings, and those that ended under a minute ago.
-- Without these, each sum read every recording the user ever made through recordings_user_created_idx.
CREATE INDEX "recordings_user_open_idx" ON "recordings" USING btree ("user_id") WHERE "recordings"."status" in ('recording', 'uploading');--> statement-breakpoint
CREATE INDEX "recordings_user_ended_idx" ON "recordings" USING btree ("user_id",coalesce("completed_at", "updated_at"));