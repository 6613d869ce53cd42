import sys

from calolib.cli import main

sys.exit(main())
