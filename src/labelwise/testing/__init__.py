"""Doubles for tests and demos: `fake_llm`, an OpenAI-compatible server that answers like a model
without calling one. Nothing in production imports this package (the CLI starts it on request)."""
