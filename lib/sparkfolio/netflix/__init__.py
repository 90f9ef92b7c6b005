"""Netflix Prize recommender: generation, ingest of the original files, baselines and ALS."""
