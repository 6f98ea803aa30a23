-- The per-user cap (SORTIE_RECORDING_MAX_RESERVED_MB_PER_USER) counts thumbnails too.
--
-- A user's reserve is what their open recordings' parts reserve or hold (the larger of the two
-- per part) plus the bytes of the thumbnails of every recording of theirs that still takes
-- thumbnails: an open one, or one that ended (completed_at, or updated_at for a failed one)
-- less than a minute ago (TimelineService.putThumbnail takes them that long, for the last one
-- the SDK sends as it stops). The thumbnail route counts the same sum under the same user lock;
-- this function is 0008's with that sum added to user_others.

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
        -- The thumbnails of the user's recordings that still take them: open, or ended under a minute ago.
        + (SELECT coalesce(sum(t.size_bytes), 0)
          FROM recording_thumbnails t JOIN recordings o ON o.id = t.recording_id
          WHERE o.user_id = p_user_id
            AND (o.status IN ('recording', 'uploading')
              OR coalesce(o.completed_at, o.updated_at) > p_at - interval '1 minute'))::bigint
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
