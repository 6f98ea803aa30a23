-- version: 1
-- Creates a recording in one round trip: the user's lock, the count of their open recordings and the insert
-- in one call, because under a start-up storm (every session of a shift starting at once) five round trips
-- each queue for the pool's connections. The count is read after the user's lock is granted, hence a
-- VOLATILE PL/pgSQL function: each statement takes a new snapshot.
--
-- Returns the new row, or no row when the user already has p_max_open open recordings.
CREATE OR REPLACE FUNCTION sortie_create_recording(
  p_id uuid,
  p_session_id text,
  p_user_id text,
  p_user_name text,
  p_mime_type text,
  p_storage_key text,
  p_upload_id text,
  p_at timestamptz,
  p_max_open integer
) RETURNS SETOF recordings LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  IF p_max_open IS NOT NULL THEN
    -- The same lock as every per-user check (requestPart's cap, other replicas' creates).
    PERFORM pg_advisory_xact_lock(hashtextextended('sortie.user:' || p_user_id, 0));
    IF (SELECT count(*) FROM recordings r
        WHERE r.user_id = p_user_id AND r.status IN ('recording', 'uploading')) >= p_max_open THEN
      RETURN;
    END IF;
  END IF;
  RETURN QUERY
  INSERT INTO recordings (id, session_id, user_id, user_name, status, mime_type, storage_key, upload_id,
    created_at, updated_at, last_activity_at)
  VALUES (p_id, p_session_id, p_user_id, p_user_name, 'recording', p_mime_type, p_storage_key, p_upload_id,
    p_at, p_at, p_at)
  RETURNING *;
END;
$$;
