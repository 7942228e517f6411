"""`python -m demo`: the same as `bff downstream`."""

import sys

from demo.cli import main

sys.exit(main())
