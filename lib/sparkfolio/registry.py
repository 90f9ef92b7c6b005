"""Every job the project ships: name, one-line summary, runner and config class.

Runner and config are ``"module:attribute"`` strings, imported only when that job runs.
"""

from __future__ import annotations

from sparkfolio.runtime.job import JobSpec

JOBS: tuple[JobSpec, ...] = (
    JobSpec("netflix-generate", "Write synthetic Netflix Prize data in the original formats, at any scale",
            "sparkfolio.netflix.generate_job:run", "sparkfolio.netflix.generate_job:GenerateConfig", needs_input=False),
    JobSpec("netflix-ingest", "Parse Netflix Prize files (Kaggle or original layout) into Parquet, with rejects",
            "sparkfolio.netflix.ingest_job:run", "sparkfolio.netflix.ingest_job:IngestConfig"),
    JobSpec("netflix-als", "Baselines and ALS on ingested ratings: evaluation, recommendations, similar movies",
            "sparkfolio.netflix.als_job:run", "sparkfolio.netflix.als_job:AlsConfig"),
    JobSpec("fifa-generate", "Write synthetic FIFA 19 players in the Kaggle 89-column CSV format",
            "sparkfolio.fifa.generate_job:run", "sparkfolio.fifa.generate_job:GenerateConfig", needs_input=False),
    JobSpec("fifa-report", "Clean and aggregate FIFA 19 player data; statistics, plots and an HTML report",
            "sparkfolio.fifa.report_job:run", "sparkfolio.fifa.report_job:ReportConfig"),
    JobSpec("scale-generate", "Write synthetic steel plates following the real scale-defect data",
            "sparkfolio.scale.generate_job:run", "sparkfolio.scale.generate_job:GenerateConfig", needs_input=False),
    JobSpec("scale-defects", "Find causes of steel-plate scale defects: rates, tests, Logit and tree models",
            "sparkfolio.scale.defects_job:run", "sparkfolio.scale.defects_job:DefectsConfig"),
    JobSpec("plates-generate", "Render synthetic Korean licence plates in scenes, with labels",
            "sparkfolio.plates.generate_job:run", "sparkfolio.plates.generate_job:GenerateConfig", needs_input=False),
    JobSpec("plates-ocr", "Find and read Korean licence plates with OpenCV and Tesseract across partitions",
            "sparkfolio.plates.ocr_job:run", "sparkfolio.plates.ocr_job:OcrConfig"),
    JobSpec("gtzan-generate", "Write synthetic genre-like audio clips in the GTZAN layout",
            "sparkfolio.gtzan.generate_job:run", "sparkfolio.gtzan.generate_job:GenerateConfig", needs_input=False),
    JobSpec("gtzan-features", "Segment MFCCs and per-clip summary features of GTZAN audio with librosa",
            "sparkfolio.gtzan.features_job:run", "sparkfolio.gtzan.features_job:FeaturesConfig"),
    JobSpec("gtzan-similar", "Content-based music recommendation: nearest clips by summary features",
            "sparkfolio.gtzan.similar_job:run", "sparkfolio.gtzan.similar_job:SimilarConfig"),
)


def job_spec(name: str) -> JobSpec | None:
    """The job called ``name`` (``netflix_ingest`` and ``netflix-ingest`` are the same job)."""
    wanted = name.replace("_", "-")
    return next((j for j in JOBS if j.name == wanted), None)
