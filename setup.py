"""Package the sparkfolio library from lib/ with the `sparkfolio` console script."""

from pathlib import Path

from setuptools import find_packages, setup


def _requirements() -> list[str]:
    lines = Path(__file__).with_name("requirements.txt").read_text().splitlines()
    return [ln.split("#")[0].strip() for ln in lines if ln.split("#")[0].strip() and not ln.startswith("-")]


setup(
    name="sparkfolio",
    version="0.1.0",
    description="Classic machine-learning workloads as distributed Spark batch jobs",
    package_dir={"": "lib"},
    packages=find_packages("lib"),
    package_data={"sparkfolio": ["py.typed"], "sparkfolio.fifa": ["data/*.json", "data/*.md"]},
    python_requires=">=3.11",
    install_requires=_requirements(),
    entry_points={"console_scripts": ["sparkfolio=sparkfolio.cli:main"]},
)
