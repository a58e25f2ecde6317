-- Templates by the model that made them: after an embedder change, finding the templates of
-- other models (to refuse 1:N searches that would miss them, and for `emerald collections
-- reindex`) reads two ranges of this index instead of every template.
CREATE INDEX person_images_model ON person_images (model_id, collection_id);
