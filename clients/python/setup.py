"""The build hook: a wheel or an install (`pip install clients/python`) generates the protobuf modules from protos/
first (generate.py), so they are made at build time and never committed. Everything else is in pyproject.toml."""

from setuptools import setup
from setuptools.command.build_py import build_py

import generate


class GenerateThenBuild(build_py):
    def run(self) -> None:
        generate.generate()
        super().run()


setup(cmdclass={"build_py": GenerateThenBuild})
