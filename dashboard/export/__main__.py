"""`python -m dashboard.export`: the export command line (see `cli.py`)."""

import sys

from dashboard.export.cli import main

sys.exit(main())
