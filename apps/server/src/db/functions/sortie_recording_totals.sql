-- version: 1
-- The daily, failure and per-user rollups behind GET /api/admin/overview, kept by statement-level
-- triggers on recordings (created in migration 0009), so the overview never reads every recording.
CREATE OR REPLACE FUNCTION sortie_recording_totals() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  v_slot smallint := pg_backend_pid() % 8;
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO recording_day_totals AS t (day, status, ended_by, slot, recordings, bytes)
    SELECT (c.created_at AT TIME ZONE 'UTC')::date, c.status, coalesce(c.ended_by, ''), v_slot,
           sum(c.sign), sum(c.sign * c.size_bytes)
    FROM (SELECT 1 AS sign, n.* FROM new_rows n) c
    GROUP BY 1, 2, 3 HAVING sum(c.sign) <> 0 OR sum(c.sign * c.size_bytes) <> 0 ORDER BY 1, 2, 3
    ON CONFLICT (day, status, ended_by, slot)
    DO UPDATE SET recordings = t.recordings + excluded.recordings, bytes = t.bytes + excluded.bytes;
    INSERT INTO recording_failure_totals AS t (day, no_reason, reason, slot, recordings)
    SELECT (c.created_at AT TIME ZONE 'UTC')::date, c.failure_reason IS NULL, coalesce(c.failure_reason, ''), v_slot,
           sum(c.sign)
    FROM (SELECT 1 AS sign, n.* FROM new_rows n) c WHERE c.status = 'failed'
    GROUP BY 1, 2, 3 HAVING sum(c.sign) <> 0 ORDER BY 1, 2, 3
    ON CONFLICT (day, no_reason, reason, slot) DO UPDATE SET recordings = t.recordings + excluded.recordings;
    INSERT INTO recording_user_totals AS t (user_id, recordings, bytes)
    SELECT c.user_id, sum(c.sign), sum(c.sign * c.size_bytes)
    FROM (SELECT 1 AS sign, n.* FROM new_rows n) c
    GROUP BY 1 HAVING sum(c.sign) <> 0 OR sum(c.sign * c.size_bytes) <> 0 ORDER BY 1
    ON CONFLICT (user_id)
    DO UPDATE SET recordings = t.recordings + excluded.recordings, bytes = t.bytes + excluded.bytes;
    INSERT INTO recording_user_names AS t (user_id, no_name, user_name, recordings)
    SELECT c.user_id, c.user_name IS NULL, coalesce(c.user_name, ''), sum(c.sign)
    FROM (SELECT 1 AS sign, n.* FROM new_rows n) c
    GROUP BY 1, 2, 3 HAVING sum(c.sign) <> 0 ORDER BY 1, 2, 3
    ON CONFLICT (user_id, no_name, user_name) DO UPDATE SET recordings = t.recordings + excluded.recordings;
  ELSIF TG_OP = 'DELETE' THEN
    INSERT INTO recording_day_totals AS t (day, status, ended_by, slot, recordings, bytes)
    SELECT (c.created_at AT TIME ZONE 'UTC')::date, c.status, coalesce(c.ended_by, ''), v_slot,
           sum(c.sign), sum(c.sign * c.size_bytes)
    FROM (SELECT -1 AS sign, o.* FROM old_rows o) c
    GROUP BY 1, 2, 3 HAVING sum(c.sign) <> 0 OR sum(c.sign * c.size_bytes) <> 0 ORDER BY 1, 2, 3
    ON CONFLICT (day, status, ended_by, slot)
    DO UPDATE SET recordings = t.recordings + excluded.recordings, bytes = t.bytes + excluded.bytes;
    INSERT INTO recording_failure_totals AS t (day, no_reason, reason, slot, recordings)
    SELECT (c.created_at AT TIME ZONE 'UTC')::date, c.failure_reason IS NULL, coalesce(c.failure_reason, ''), v_slot,
           sum(c.sign)
    FROM (SELECT -1 AS sign, o.* FROM old_rows o) c WHERE c.status = 'failed'
    GROUP BY 1, 2, 3 HAVING sum(c.sign) <> 0 ORDER BY 1, 2, 3
    ON CONFLICT (day, no_reason, reason, slot) DO UPDATE SET recordings = t.recordings + excluded.recordings;
    INSERT INTO recording_user_totals AS t (user_id, recordings, bytes)
    SELECT c.user_id, sum(c.sign), sum(c.sign * c.size_bytes)
    FROM (SELECT -1 AS sign, o.* FROM old_rows o) c
    GROUP BY 1 HAVING sum(c.sign) <> 0 OR sum(c.sign * c.size_bytes) <> 0 ORDER BY 1
    ON CONFLICT (user_id)
    DO UPDATE SET recordings = t.recordings + excluded.recordings, bytes = t.bytes + excluded.bytes;
    INSERT INTO recording_user_names AS t (user_id, no_name, user_name, recordings)
    SELECT c.user_id, c.user_name IS NULL, coalesce(c.user_name, ''), sum(c.sign)
    FROM (SELECT -1 AS sign, o.* FROM old_rows o) c
    GROUP BY 1, 2, 3 HAVING sum(c.sign) <> 0 ORDER BY 1, 2, 3
    ON CONFLICT (user_id, no_name, user_name) DO UPDATE SET recordings = t.recordings + excluded.recordings;
  ELSIF TG_OP = 'UPDATE' THEN
    INSERT INTO recording_day_totals AS t (day, status, ended_by, slot, recordings, bytes)
    SELECT (c.created_at AT TIME ZONE 'UTC')::date, c.status, coalesce(c.ended_by, ''), v_slot,
           sum(c.sign), sum(c.sign * c.size_bytes)
    FROM (SELECT 1 AS sign, n.* FROM new_rows n UNION ALL SELECT -1 AS sign, o.* FROM old_rows o) c
    GROUP BY 1, 2, 3 HAVING sum(c.sign) <> 0 OR sum(c.sign * c.size_bytes) <> 0 ORDER BY 1, 2, 3
    ON CONFLICT (day, status, ended_by, slot)
    DO UPDATE SET recordings = t.recordings + excluded.recordings, bytes = t.bytes + excluded.bytes;
    INSERT INTO recording_failure_totals AS t (day, no_reason, reason, slot, recordings)
    SELECT (c.created_at AT TIME ZONE 'UTC')::date, c.failure_reason IS NULL, coalesce(c.failure_reason, ''), v_slot,
           sum(c.sign)
    FROM (SELECT 1 AS sign, n.* FROM new_rows n UNION ALL SELECT -1 AS sign, o.* FROM old_rows o) c WHERE c.status = 'failed'
    GROUP BY 1, 2, 3 HAVING sum(c.sign) <> 0 ORDER BY 1, 2, 3
    ON CONFLICT (day, no_reason, reason, slot) DO UPDATE SET recordings = t.recordings + excluded.recordings;
    INSERT INTO recording_user_totals AS t (user_id, recordings, bytes)
    SELECT c.user_id, sum(c.sign), sum(c.sign * c.size_bytes)
    FROM (SELECT 1 AS sign, n.* FROM new_rows n UNION ALL SELECT -1 AS sign, o.* FROM old_rows o) c
    GROUP BY 1 HAVING sum(c.sign) <> 0 OR sum(c.sign * c.size_bytes) <> 0 ORDER BY 1
    ON CONFLICT (user_id)
    DO UPDATE SET recordings = t.recordings + excluded.recordings, bytes = t.bytes + excluded.bytes;
    INSERT INTO recording_user_names AS t (user_id, no_name, user_name, recordings)
    SELECT c.user_id, c.user_name IS NULL, coalesce(c.user_name, ''), sum(c.sign)
    FROM (SELECT 1 AS sign, n.* FROM new_rows n UNION ALL SELECT -1 AS sign, o.* FROM old_rows o) c
    GROUP BY 1, 2, 3 HAVING sum(c.sign) <> 0 ORDER BY 1, 2, 3
    ON CONFLICT (user_id, no_name, user_name) DO UPDATE SET recordings = t.recordings + excluded.recordings;
  END IF;
  RETURN NULL;
END;
$$;
CREATE OR REPLACE FUNCTION sortie_recording_totals_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM recording_day_totals;
  DELETE FROM recording_failure_totals;
  DELETE FROM recording_user_totals;
  DELETE FROM recording_user_names;
  RETURN NULL;
END;
$$;
