"""Talking to OpenAI-compatible LLM servers: shared clients, the HTTP retry layer, and structured
calls with schema re-asks."""

from __future__ import annotations

from labelwise.llm.call import StructuredAnswer, StructuredRequest, call_structured
from labelwise.llm.client import LLMClients
from labelwise.llm.meter import CallMeter

__all__ = ["CallMeter", "LLMClients", "StructuredAnswer", "StructuredRequest", "call_structured"]
