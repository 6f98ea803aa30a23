-- The admin list that keeps up: updated_at for its "changed since" poll; the span GiST for "Recorded between" as an
-- overlap; lower(...) text_pattern_ops for a case-insensitive prefix of a user id, user name or session id.
CREATE INDEX "recordings_updated_idx" ON "recordings" USING btree ("updated_at");--> statement-breakpoint
CREATE INDEX "recordings_span_idx" ON "recordings" USING gist (tstzrange("created_at", case when "status" in ('recording', 'uploading') then null else greatest("created_at", coalesce("completed_at", "updated_at")) end, '[]'));--> statement-breakpoint
CREATE INDEX "recordings_user_id_prefix_idx" ON "recordings" USING btree (lower("user_id") text_pattern_ops);--> statement-breakpoint
CREATE INDEX "recordings_user_name_prefix_idx" ON "recordings" USING btree (lower("user_name") text_pattern_ops);--> statement-breakpoint
CREATE INDEX "recordings_session_prefix_idx" ON "recordings" USING btree (lower("session_id") text_pattern_ops);