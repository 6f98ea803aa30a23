-- The SQL functions live in src/db/functions/, one file each, applied after the migrations whenever a file's
-- version is newer than the one recorded here (db/client.ts, applyFunctions). Migrations keep the tables;
-- a function changes in its one file instead of being pasted whole into a new migration.
CREATE TABLE IF NOT EXISTS "sortie_functions" (
  "name" text PRIMARY KEY NOT NULL,
  "version" integer NOT NULL,
  "sha256" text NOT NULL,
  "applied_at" timestamp with time zone DEFAULT now() NOT NULL
);
