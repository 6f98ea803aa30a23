-- A reservation on the local backend commits without waiting for its WAL flush.
--
-- bench:load (500 recorders, a 1 MiB part every 4 s each, PostgreSQL on the machine that stores
-- the parts) put the p99 of a part at 700-900 ms, and 110 ms with synchronous_commit off: every
-- commit waits for a WAL fdatasync, and while the part files' write-back drains, a fdatasync on
-- that disk takes 100-370 ms (measured beside the bench). A part cost two such commits.
--
-- The reservation alone may skip the wait, because nothing that depends on it outlives a crash
-- that forgets it: the part is recorded as stored (acceptPart's statement, a durable commit,
-- whose WAL flush also flushes every earlier record, this reservation included) only if the
-- part's latest reservation is for its size. A reservation lost with a crash of PostgreSQL (at
-- most a few hundred ms of them) makes the PUT that follows it answer 409 and the client ask for
-- the part again; no stored part and no 200 is lost. On S3 the reservation is the service's
-- count of what the client stores straight into the bucket, so there it stays a durable commit.
--
-- set_config(..., true) lasts until the end of the transaction, past the function's return: it
-- decides how the implicit transaction of the calling statement commits.
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
