"""``python -m edgesea.edgel3 ...``: the ``edgel3`` script; an edgesea error becomes one line,
``edgel3: error: ...``, and exit status 1."""

import sys

from edgesea.edgel3.cli import main
from edgesea.errors import EdgeSEAError

try:
    main()
except EdgeSEAError as error:
    sys.exit(f"edgel3: error: {error}")
