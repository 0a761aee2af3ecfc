"""Prompt-emulated tool calling (docs/grok-protocol.md §3.4), once for every surface.

``spec``: the tools and ``tool_choice`` a request carries; ``prompt``: the instruction block that
goes in front of the flattened conversation; ``xml``: the ``<tool_calls>`` format, rendered (for
history) and parsed (from answers); ``sieve``: the streaming filter that lets plain text through
and turns a tool-call answer into :class:`~grokgate.events.ToolCall` events.
"""
