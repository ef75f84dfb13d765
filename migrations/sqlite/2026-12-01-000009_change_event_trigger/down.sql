DROP TRIGGER change_event_from_audit;
