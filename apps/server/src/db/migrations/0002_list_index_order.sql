DROP INDEX "audit_log_at_idx";--> statement-breakpoint
DROP INDEX "recordings_user_created_idx";--> statement-breakpoint
DROP INDEX "recordings_created_idx";--> statement-breakpoint
CREATE INDEX "audit_log_at_idx" ON "audit_log" USING btree ("at" DESC NULLS FIRST,"id" DESC NULLS FIRST);--> statement-breakpoint
CREATE INDEX "recordings_user_created_idx" ON "recordings" USING btree ("user_id","created_at" DESC NULLS FIRST,"id" DESC NULLS FIRST);--> statement-breakpoint
CREATE INDEX "recordings_created_idx" ON "recordings" USING btree ("created_at" DESC NULLS FIRST,"id" DESC NULLS FIRST);