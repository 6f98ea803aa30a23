CREATE TABLE "recording_markers" (
	"id" uuid PRIMARY KEY NOT NULL,
	"recording_id" uuid NOT NULL,
	"offset_ms" integer NOT NULL,
	"source" text NOT NULL,
	"label" text NOT NULL,
	"data" jsonb,
	"created_at" timestamp (3) with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "recording_thumbnails" (
	"recording_id" uuid NOT NULL,
	"offset_ms" integer NOT NULL,
	"size_bytes" integer NOT NULL,
	"created_at" timestamp (3) with time zone NOT NULL,
	CONSTRAINT "recording_thumbnails_recording_id_offset_ms_pk" PRIMARY KEY("recording_id","offset_ms")
);
--> statement-breakpoint
ALTER TABLE "recordings" ADD COLUMN "poster_offset_ms" integer;--> statement-breakpoint
ALTER TABLE "recording_markers" ADD CONSTRAINT "recording_markers_recording_id_recordings_id_fk" FOREIGN KEY ("recording_id") REFERENCES "public"."recordings"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "recording_thumbnails" ADD CONSTRAINT "recording_thumbnails_recording_id_recordings_id_fk" FOREIGN KEY ("recording_id") REFERENCES "public"."recordings"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "recording_markers_recording_offset_idx" ON "recording_markers" USING btree ("recording_id","offset_ms");