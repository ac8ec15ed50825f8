"""Entry point for `python -m bilinear`."""

import sys

from bilinear.cli import main

sys.exit(main())
