"""Allow ``python -m deepshadows``."""

from deepshadows.cli.main import main

raise SystemExit(main())
