"""The official xAI API (API keys), which already speaks OpenAI's and Anthropic's shapes."""
