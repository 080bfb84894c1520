"""The command line: `labelwise api | worker | up | keys | local | reconcile | migrate | label |
fake-llm`. Each command wires the layers below it; none holds logic of its own."""
