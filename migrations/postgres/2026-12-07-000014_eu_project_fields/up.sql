-- What Kohesio and keep.eu carry per project and partner that the region needs: the fund, the
-- intervention field, the project's web page, its title and summary in Swedish and English; a
-- partner's country, NUTS region, legal status and EU funding (its budget is budget_*).
ALTER TABLE projects ADD COLUMN fund TEXT;
ALTER TABLE projects ADD COLUMN intervention_field TEXT;
ALTER TABLE projects ADD COLUMN project_url TEXT;
ALTER TABLE projects ADD COLUMN title_en TEXT;
ALTER TABLE projects ADD COLUMN summary_sv TEXT;
ALTER TABLE projects ADD COLUMN summary_en TEXT;
ALTER TABLE project_partners ADD COLUMN country TEXT;
ALTER TABLE project_partners ADD COLUMN nuts_code TEXT;
ALTER TABLE project_partners ADD COLUMN legal_status TEXT;
ALTER TABLE project_partners ADD COLUMN eu_funding_minor BIGINT;
ALTER TABLE project_partners ADD COLUMN eu_funding_currency TEXT;
