"""Tokens and dollars: counting a prompt's tokens, pricing usage, and estimating what a batch
will cost before any of it is sent."""
