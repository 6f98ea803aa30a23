-- A part URL in one round trip. requestPart took four (BEGIN; the locks; the sums and
-- the reservation; COMMIT) because the sums must be read after the locks are granted: one plain
-- statement reads with the snapshot it started with, taken before it waited, and would miss a
-- reservation committed meanwhile. In a VOLATILE PL/pgSQL function each statement takes a new
-- snapshot (READ COMMITTED), so the locks, then the sums and the reservation, run as before, in
-- the one transaction of the one statement that calls the function.
--
-- Returns no row when the recording does not exist; else its owner and status and, when it is
-- the caller's and open, the sums and whether the part was reserved (1) or not (0: a limit).
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
  -- The user's lock (per-user cap) before the row lock, always in that order: no cycle of waits.
  IF p_user_cap IS NOT NULL THEN
    PERFORM pg_advisory_xact_lock(hashtextextended('sortie.user:' || p_user_id, 0));
  END IF;
  SELECT rec.user_id, rec.status, rec.storage_key, rec.upload_id INTO r
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
      (SELECT coalesce(sum(greatest(p.declared_size, coalesce(p.stored_size, 0))), 0) FROM recording_parts p
        WHERE p.recording_id = p_id AND p.part_number <> p_part_number)::bigint AS others,
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
