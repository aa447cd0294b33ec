import sys

from labkit.commands.cli import main

sys.exit(main())
