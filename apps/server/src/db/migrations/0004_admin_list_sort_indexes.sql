CREATE INDEX "recordings_size_idx" ON "recordings" USING btree ("size_bytes" DESC NULLS FIRST,"id" DESC NULLS FIRST);--> statement-breakpoint
CREATE INDEX "recordings_duration_idx" ON "recordings" USING btree (coalesce("duration_ms", -1) desc,"id" DESC NULLS FIRST);--> statement-breakpoint
CREATE INDEX "recordings_status_created_idx" ON "recordings" USING btree ("status","created_at" DESC NULLS FIRST,"id" DESC NULLS FIRST);--> statement-breakpoint
CREATE INDEX "recordings_session_created_idx" ON "recordings" USING btree ("session_id","created_at" DESC NULLS FIRST,"id" DESC NULLS FIRST);