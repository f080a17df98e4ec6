"""`python -m qnwu_devtools.generator OUT_DIR ...`"""

from qnwu_devtools.generator.cli import main

raise SystemExit(main())
