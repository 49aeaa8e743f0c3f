-- object_label is the sensitivity label of the object a result and a
-- finding are about (a site's, a link's site's, a group's), so findings can
-- be filtered by it. Rows written before it carry none until a scan sees
-- them again.
ALTER TABLE rule_results ADD COLUMN object_label TEXT NOT NULL DEFAULT '';
ALTER TABLE findings ADD COLUMN object_label TEXT NOT NULL DEFAULT '';
