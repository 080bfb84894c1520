"""The trust suite: promises the service makes, checked against a live stack of separate
processes (see `__main__` for the scenarios and the command line).

Run it as `.venv/bin/python benchmarks/trust.py` (what CI does), `python -m trust` from
`benchmarks/`, or `python -m benchmarks.trust` from the repository. Its modules, by role:

- `__main__`: the command line and the run loop, one scenario after another on one stack;
- `stack`, `processes`, `storage`, `logs`: starting and stopping the stack's processes, its
  PostgreSQL schema and Redis database of its own, and the processes' logs;
- `api_client`, `settling`: calling the API, and waiting until labeling is done;
- `report`: a scenario's result line, broken promises and evidence;
- `corpus`: the items sent, hostile and realistic;
- `fuzz`, `claims`, `corpus_check`, `spend`, `load`, `chaos`: one scenario each.
"""
