"""monograph-pipeline: scraped disease monographs -> a clean, sectioned corpus."""

__version__ = "0.1.0"
# Version of the output records' shape; see "Schema versioning" in the README.
SCHEMA_VERSION = "1.2"
