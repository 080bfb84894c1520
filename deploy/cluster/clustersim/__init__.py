"""A multi-host labelwise run on one Linux machine: hosts are network namespaces on one bridge.

`simulate.sh` checks the machine and cleans up; `clustersim.run.main` builds the hosts, runs the
services on them, measures a one-host and a K-host phase, breaks things during a third phase, and
judges the database afterwards. The pure parts (arguments, the address plan, the break schedule,
the figures computed from database rows) are unit-tested in tests/deploy/test_cluster.py.
"""
