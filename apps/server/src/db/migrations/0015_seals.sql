CREATE TABLE "recording_seals" (
	"recording_id" uuid PRIMARY KEY NOT NULL,
	"seal" text NOT NULL,
	"sealed_at" timestamp (3) with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "seal_keys" (
	"kid" text PRIMARY KEY NOT NULL,
	"x" text NOT NULL,
	"private_pem" text,
	"created_at" timestamp (3) with time zone NOT NULL
);
--> statement-breakpoint
ALTER TABLE "recordings" ADD COLUMN "sealed_at" timestamp (3) with time zone;--> statement-breakpoint
ALTER TABLE "recording_seals" ADD CONSTRAINT "recording_seals_recording_id_recordings_id_fk" FOREIGN KEY ("recording_id") REFERENCES "public"."recordings"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "recordings_unsealed_idx" ON "recordings" USING btree ("completed_at") WHERE "recordings"."status" = 'ready' and "recordings"."sealed_at" is null;