"""Text handling between the LLM and TTS stages (sentence splitting of streamed replies)."""
