"""Package discovery only; everything else is in pyproject.toml. Namespace discovery, so that the data
folders (outputs/templates, web/static) are packages of their own and their files ship."""

from setuptools import find_namespace_packages, setup

setup(packages=[*find_namespace_packages(include=["imagegate", "imagegate.*"]), "imagegate_models"])
