"""grokgate: OpenAI- and Anthropic-compatible gateway in front of Grok."""

__version__ = "0.1.0"
