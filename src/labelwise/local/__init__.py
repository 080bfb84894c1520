"""The embedded model: the llama.cpp server and the GGUF model it serves (`model`, `setup`), and
running the whole stack on one machine under a supervisor (`stack`, `supervisor`)."""
