import sys

from sage_sandbox.cli import main

sys.exit(main())
