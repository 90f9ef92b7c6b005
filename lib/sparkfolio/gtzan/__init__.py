"""GTZAN music genres: librosa features in pandas UDFs and content-based similarity."""
