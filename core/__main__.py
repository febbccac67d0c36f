"""``python -m core``: the localcond command line."""

from core.cli import main

raise SystemExit(main())
