"""`python -m agents.cli`: the same as the `growthstream` command."""

import sys

from agents.cli.main import main

sys.exit(main())
