"""GTZAN music genres: librosa features in Arrow UDFs and content-based similarity.

Jobs: ``gtzan-generate`` (generate_job), ``gtzan-features`` (features_job), ``gtzan-similar``
(similar_job). Pure parts: ``audio`` (decoding, genre names), ``features`` (segment MFCCs and the
features_30_sec.csv summary), ``medfilt`` (exact fast median filter / HPSS), ``analysis`` (one
file -> one record), ``synth`` (synthetic clips), ``plots``; Spark parts: ``spark_features``
(the UDF and derived tables), ``similarity`` (standardise, cosine, top-k); ``serial`` is the plain
single-process loop over the same functions, for comparison.
"""
