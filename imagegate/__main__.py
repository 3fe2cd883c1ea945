"""`python -m imagegate` runs the command line, as the `imagegate` script does."""

from .cli.main import run

if __name__ == "__main__":
    run()
