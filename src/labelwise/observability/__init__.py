"""What every labelwise process tells its operator: Prometheus metrics and structured logs.

It sits just above the foundation, so the LLM layer, the labeling code, the API and the command
line can all report through it without it knowing any of them.
"""
