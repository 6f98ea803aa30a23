-- version: 2
-- Reserves a part in one round trip: the recording's row lock (and the user's lock where a per-user cap
-- applies), the sizes it must fit, and the reservation. `this_part` answers what this part counts for,
-- tails included; the recording's size (S3) stays the sum of its parts.
--
-- Tails (S3) hold the same bytes as the part they precede, so part n and the tails of parts up to n count
-- as the larger of the two, and the tails of later parts in full. Both are in the bucket from the moment the
-- part lands until those tails go (at the next batch, at the end, or at the sweeper's next pass once their
-- targets expire): that overlap is what keeps a closed tab's bytes. The credit a part takes for the tails
-- it replaces is capped at what one SDK part holds (the 5 MiB floor, or the limit over 9,999 parts, the
-- larger) plus one tail (4 MiB), so the overlap stays that small however large a part a client declares.
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
  -- Where the service receives the bytes (local: p_size_from_reservations is false), this transaction
  -- commits without waiting for its WAL flush: a reservation lost with a crash of PostgreSQL makes the PUT
  -- that follows answer 409 and the client ask again, since a part is recorded as stored (a durable commit,
  -- whose flush also flushes this) only for its latest reservation's size. On S3 the reservation is the
  -- service's count of what the client stores in the bucket, so there it stays a durable commit.
  -- set_config(..., true) lasts to the end of the calling statement's transaction.
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
      (r.tail_bytes_bound
        - least(part.bytes, r.tails_replaced, greatest(5242880, ceil(p_max_size / 9999.0)::bigint) + 4194304)
      )::bigint + part.bytes AS this_part,
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
