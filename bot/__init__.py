"""The order-complaints bot; its version is the one place it is kept, pyproject.toml's."""

from importlib.metadata import PackageNotFoundError, version

DISTRIBUTION = "order-complaints-bot"

try:
    __version__ = version(DISTRIBUTION)
except PackageNotFoundError:  # a source tree that was never installed (pip install -e .)
    __version__ = "0+unknown"
