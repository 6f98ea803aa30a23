-- Tails (S3) count wherever parts are reserved, and the user's reserve is one sum, read by parts, tails and
-- thumbnails alike.
--
-- recordings.tail_bytes_by_part: the recording's tail bound (tail_bytes_bound) split by the part the tails
-- belong to ({"<partNumber>": bytes}), so that a part is counted once with the tails it replaces: the bytes
-- of part n are the bytes its tails held. Tails of later parts are other bytes and count in full.
ALTER TABLE "recordings" ADD COLUMN IF NOT EXISTS "tail_bytes_by_part" jsonb DEFAULT '{}'::jsonb NOT NULL;--> statement-breakpoint

-- The user's reserve: the parts of their open recordings (what each part reserves or holds, the larger),
-- the tail bound of each open recording, and the thumbnails of every recording of theirs that still takes
-- them (open, or ended under a minute ago). Without p_id and p_part: all of it. With p_id: less that
-- recording's tails and, of its parts, all of them (p_part null) or only part p_part; the caller counts those.
CREATE OR REPLACE FUNCTION sortie_user_reserved(
  p_user_id text,
  p_at timestamptz,
  p_id uuid,
  p_part integer
) RETURNS bigint LANGUAGE plpgsql STABLE AS $$
BEGIN
  -- plpgsql, not sql: its statement's plan is cached per connection, where a sql function called from
  -- sortie_request_part is planned again at every part.
  RETURN
    (SELECT coalesce(sum(greatest(p.declared_size, coalesce(p.stored_size, 0))), 0)
      FROM recording_parts p JOIN recordings o ON o.id = p.recording_id
      WHERE o.user_id = p_user_id AND o.status IN ('recording', 'uploading')
        AND (p.recording_id IS DISTINCT FROM p_id OR (p_part IS NOT NULL AND p.part_number <> p_part)))::bigint
    + (SELECT coalesce(sum(o.tail_bytes_bound), 0)
      FROM recordings o
      WHERE o.user_id = p_user_id AND o.status IN ('recording', 'uploading') AND o.id IS DISTINCT FROM p_id)::bigint
    + (SELECT coalesce(sum(t.size_bytes), 0)
      FROM recording_thumbnails t JOIN recordings o ON o.id = t.recording_id
      WHERE o.user_id = p_user_id
        AND (o.status IN ('recording', 'uploading')
          OR coalesce(o.completed_at, o.updated_at) > p_at - interval '1 minute'))::bigint;
END;
$$;--> statement-breakpoint

-- 0010's function, with the recording's tails counted: part n and the tails of parts up to n count as the
-- larger of the two (they hold the same bytes; the tails go at the next batch, at the end, or at the
-- sweeper's next pass once their targets expire), the tails of later parts in full. `this_part` answers
-- what this part counts for, tails included; the recording's size (S3) stays the sum of its parts.
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
  -- transaction commits without waiting for its WAL flush (0007).
  IF NOT p_size_from_reservations THEN
    PERFORM set_config('synchronous_commit', 'off', true);
  END IF;
  -- The user's lock (per-user cap) before the row lock, always in that order: no cycle of waits.
  IF p_user_cap IS NOT NULL THEN
    PERFORM pg_advisory_xact_lock(hashtextextended('sortie.user:' || p_user_id, 0));
  END IF;
  SELECT rec.user_id, rec.status, rec.storage_key, rec.upload_id, rec.size_bytes, rec.tail_bytes_bound,
      (SELECT coalesce(sum(e.value::bigint), 0) FROM jsonb_each_text(rec.tail_bytes_by_part) e
        WHERE e.key::bigint <= p_part_number) AS tails_replaced
    INTO r
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
  WITH part AS (
    SELECT greatest(p_size, coalesce((SELECT p.stored_size FROM recording_parts p
        WHERE p.recording_id = p_id AND p.part_number = p_part_number), 0)) AS bytes
  ), sums AS (
    SELECT
      part.bytes AS part_bytes,
      -- This part with its recording's tails: the larger of it and the tails it replaces, plus later parts' tails.
      (r.tail_bytes_bound - least(part.bytes, r.tails_replaced))::bigint + part.bytes AS this_part,
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
      CASE WHEN p_user_cap IS NULL THEN 0::bigint
        ELSE sortie_user_reserved(p_user_id, p_at, p_id, p_part_number) END AS user_others
    FROM part
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
      size_bytes = CASE WHEN p_size_from_reservations THEN fits.others + fits.part_bytes ELSE rec.size_bytes END
    FROM fits WHERE rec.id = p_id
    RETURNING 1
  )
  SELECT r.user_id, r.status, r.storage_key, r.upload_id, sums.this_part, sums.others, sums.user_others,
    (SELECT count(*) FROM reserve)::integer
  FROM sums;
END;
$$;
