"""`python -m showcasectl` / the `showcasectl` script."""

from __future__ import annotations

from showcasectl.cli import app


def main() -> None:
    app()


if __name__ == "__main__":
    main()
