"""``python -m benchkit.cli``: the same as the ``benchkit`` console script."""

from benchkit.cli import main

if __name__ == "__main__":
    main()
