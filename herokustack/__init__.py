"""herokustack: manage Heroku apps as code."""

__version__ = "0.1.0"
