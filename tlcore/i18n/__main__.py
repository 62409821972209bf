import sys

from .catalogues import main

sys.exit(main())
