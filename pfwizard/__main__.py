import sys

from pfwizard.cli import main

sys.exit(main())
