"""The build hook: building or installing the package (`pip install clients/python`) first generates its protobuf
modules from the repository's protos/ (generate.py), so they are made at build time and never committed. It runs before
setuptools looks for the packages, which include the generated ones. Everything else is in pyproject.toml."""

import sys
from pathlib import Path

from setuptools import setup

# setuptools' PEP 517 backend does not put this folder on sys.path.
sys.path.insert(0, str(Path(__file__).resolve().parent))
import generate  # noqa: E402

generate.generate()
setup()
