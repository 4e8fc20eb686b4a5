"""``python -m edgesea.cli``: the ``edgesea`` command."""

from edgesea.cli import main

main()
