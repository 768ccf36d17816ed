-- Two indexes go, which together took a sixth of the file:
-- records_overview, which the in-memory overview read at start, reads the
-- records table itself now (in rid order, about as fast); routes, a few
-- among many incidents, are paged in rid order through an index of their
-- own. record_keys_rid: a record's keys are removed by their primary key,
-- worked out from the stored Feature they were taken from.
DROP INDEX records_overview;
CREATE INDEX records_routes ON records(rid) WHERE collection = 'routes';
DROP INDEX record_keys_rid;
