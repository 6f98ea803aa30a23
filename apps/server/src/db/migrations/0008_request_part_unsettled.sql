-- On local, a reservation no longer sums every part of its recording.
--
-- sortie_request_part summed greatest(declared, stored) over all the recording's parts on every
-- part: 1.0 ms a call for a new recording, 2.9-3.0 ms at 7 200 parts (two hours at a part a
-- second), measured with \timing on PostgreSQL 15. On local the recording's size_bytes is the sum
-- of what its parts store (each stored part's statement moves it by the difference), read here
-- under the row lock; what a part reserves beyond what it stores is declared - stored for the
-- parts in flight or asked again at a larger size, and only those are in the partial index below.
-- S3 keeps the full sum: there size_bytes is the reservations' total itself.

CREATE INDEX "recording_parts_unsettled_idx" ON "recording_parts" USING btree ("recording_id") WHERE "recording_parts"."stored_size" is null or "recording_parts"."declared_size" > "recording_parts"."stored_size";--> statement-breakpoint
CREATE OR REPLACE FUNCTION sortie_request_part(
  p_id uuid,
  p_user_id text,
  p_part_number integer,
  p_size bigint,
  p_at timestamptz,
  p_max_size bigint,
  p_user_cap bigint,
  p_size_from_reservations boolean
) RETURNS TABLE (
  user_id text,
  status text,
  storage_key text,
  upload_id text,
  this_part bigint,
  others bigint,
  user_others bigint,
  reserved integer
) LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  r record;
BEGIN
  -- Where the service receives the bytes (local: p_size_from_reservations is false), this
  -- transaction commits without waiting for its WAL flush. See the header.
  IF NOT p_size_from_reservations THEN
    PERFORM set_config('synchronous_commit', 'off', true);
  END IF;
  -- The user's lock (per-user cap) before the row lock, always in that order: no cycle of waits.
  IF p_user_cap IS NOT NULL THEN
    PERFORM pg_advisory_xact_lock(hashtextextended('sortie.user:' || p_user_id, 0));
  END IF;
  SELECT rec.user_id, rec.status, rec.storage_key, rec.upload_id, rec.size_bytes INTO r
    FROM recordings rec WHERE rec.id = p_id FOR UPDATE;
  IF NOT FOUND THEN
    RETURN;
  END IF;
  IF r.user_id <> p_user_id OR r.status NOT IN ('recording', 'uploading') THEN
    RETURN QUERY SELECT r.user_id, r.status, r.storage_key, r.upload_id, NULL::bigint, NULL::bigint, NULL::bigint, 0;
    RETURN;
  END IF;
  -- A new statement, a new snapshot: it sees every reservation committed before the locks were granted.
  RETURN QUERY
  WITH sums AS (
    SELECT
      greatest(p_size, coalesce((SELECT p.stored_size FROM recording_parts p
        WHERE p.recording_id = p_id AND p.part_number = p_part_number), 0)) AS this_part,
      (CASE WHEN p_size_from_reservations THEN
        (SELECT coalesce(sum(greatest(p.declared_size, coalesce(p.stored_size, 0))), 0) FROM recording_parts p
          WHERE p.recording_id = p_id AND p.part_number <> p_part_number)
      ELSE
        -- Local: what is stored (the recording's size, kept by each stored part's statement), plus
        -- what the unsettled parts reserve beyond what they store (the partial index), less this part.
        r.size_bytes
          + (SELECT coalesce(sum(p.declared_size - coalesce(p.stored_size, 0)), 0) FROM recording_parts p
              WHERE p.recording_id = p_id
                AND (p.stored_size IS NULL OR p.declared_size > p.stored_size))
          - coalesce((SELECT greatest(p.declared_size, coalesce(p.stored_size, 0)) FROM recording_parts p
              WHERE p.recording_id = p_id AND p.part_number = p_part_number), 0)
      END)::bigint AS others,
      CASE WHEN p_user_cap IS NULL THEN 0::bigint ELSE
        (SELECT coalesce(sum(greatest(p.declared_size, coalesce(p.stored_size, 0))), 0)
          FROM recording_parts p JOIN recordings o ON o.id = p.recording_id
          WHERE o.user_id = p_user_id AND o.status IN ('recording', 'uploading')
            AND NOT (p.recording_id = p_id AND p.part_number = p_part_number))::bigint
      END AS user_others
  ), fits AS (
    SELECT * FROM sums
    WHERE sums.others + sums.this_part <= p_max_size
      AND (p_user_cap IS NULL OR sums.user_others + sums.this_part <= p_user_cap)
  ), reserve AS (
    INSERT INTO recording_parts (recording_id, part_number, declared_size, updated_at)
    SELECT p_id, p_part_number, p_size, p_at FROM fits
    ON CONFLICT (recording_id, part_number)
    DO UPDATE SET declared_size = excluded.declared_size, updated_at = excluded.updated_at
    RETURNING 1
  ), touched AS (
    -- Where the service never sees the bytes (S3), what is reserved is its best count of what is stored.
    UPDATE recordings rec SET last_activity_at = p_at, updated_at = p_at,
      size_bytes = CASE WHEN p_size_from_reservations THEN fits.others + fits.this_part ELSE rec.size_bytes END
    FROM fits WHERE rec.id = p_id
    RETURNING 1
  )
  SELECT r.user_id, r.status, r.storage_key, r.upload_id, sums.this_part, sums.others, sums.user_others,
    (SELECT count(*) FROM reserve)::integer
  FROM sums;
END;
$$;
