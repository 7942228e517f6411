"""`python -m demo`: run the demo services (see `demo.cli`)."""

import sys

from demo.cli import main

sys.exit(main())
