"""`python -m pumpsync` runs the command line."""

import sys

from pumpsync.cli import main

sys.exit(main())
