"""`assistant serve`: the turn engine over HTTP and WebSocket (a subset of OpenAI's Realtime and
audio APIs), one conversation per connection."""
