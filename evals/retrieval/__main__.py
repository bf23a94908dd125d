import sys

from evals.retrieval.runner import main

sys.exit(main())
