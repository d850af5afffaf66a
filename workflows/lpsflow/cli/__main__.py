"""``python -m lpsflow.cli``."""

from lpsflow.cli import main

main()
