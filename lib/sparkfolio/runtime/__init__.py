"""Runtime shared by every job: config, Spark session, atomic outputs, errors, paths."""
