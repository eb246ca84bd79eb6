"""`python -m sims.drbd` is `drbdadm`."""

import sys

from sims.drbd.drbdadm import main

sys.exit(main())
