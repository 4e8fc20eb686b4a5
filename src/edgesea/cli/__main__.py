"""``python -m edgesea.cli``: the ``edgesea`` command."""

from . import main

main()
