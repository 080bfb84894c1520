"""Labeling items: building requests, asking the model, scoring the answers, routing and writing
the results (`chunk_run`), batch mode, the RQ adapter (`queue`, the only module that imports
rq), the worker process, the reconciler and recalibration after gold arrives. The one layer that
combines the model, the store and the scoring policy."""
