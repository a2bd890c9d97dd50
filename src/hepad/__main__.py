import sys

from hepad.cli import main

sys.exit(main())
