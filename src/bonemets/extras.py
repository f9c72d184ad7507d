"""Which optional extra of the bonemets package provides a module, for a clear message when one is
missing.

`pip install bonemets` installs the clinical core, the FHIR mapping, the CLI and the population
engine (what a Spark executor imports). The faces that need more are extras: ``[web]`` (the web
app, CDS Hooks, SMART, notifications, education, storage), ``[sim]`` (the simulator and the
summary chart), ``[spark]`` (PySpark, as a range so a cluster's own Spark is kept) and ``[all]``.
`tests/test_extras.py` checks this table against the package's metadata.
"""

from __future__ import annotations

# Top-level import name -> the extra whose requirements install it.
MODULE_EXTRA: dict[str, str] = {
    "scipy": "sim",
    "matplotlib": "sim",
    "pyspark": "spark",
    "fastapi": "web",
    "uvicorn": "web",
    "httptools": "web",
    "uvloop": "web",
    "jinja2": "web",
    "multipart": "web",
    "sqlalchemy": "web",
    "alembic": "web",
    "psycopg": "web",
    "argon2": "web",
    "plotly": "web",
    "fhir": "web",  # fhir.resources: strict validation on import, when asked for
    "httpx": "web",
    "authlib": "web",
    "joserfc": "web",
    "standardwebhooks": "web",
    "zxcvbn": "web",
    "pyotp": "web",
    "segno": "web",
    "markdown_it": "web",
    "yaml": "web",
    "reportlab": "web",
    "svglib": "web",
    "icalendar": "web",
    "wordllama": "web",  # the education search's sentence embeddings
    "fastapi_offline": "web",  # Swagger UI and ReDoc files
    "babel": "web",  # the interface's languages (gettext catalogues)
}


def extra_for(exc: ModuleNotFoundError) -> str | None:
    """The extra that provides the module `exc` found missing, if it is one of ours."""
    name = (exc.name or "").partition(".")[0]
    return MODULE_EXTRA.get(name)


def missing_extra_message(exc: ModuleNotFoundError) -> str | None:
    """One line telling the user what to install, or None if the module is not an extra's."""
    extra = extra_for(exc)
    if extra is None:
        return None
    return (
        f"this command needs the [{extra}] extra (module {exc.name!r} is not installed): "
        f"pip install 'bonemets[{extra}]'"
    )
