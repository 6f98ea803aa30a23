-- version: 1
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
$$;
